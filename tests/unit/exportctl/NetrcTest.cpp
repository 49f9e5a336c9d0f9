#include "CtlError.h"
#include "Netrc.h"

#include <cppunit/extensions/HelperMacros.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <unistd.h>

using exportd::ctl::CtlError;
using exportd::ctl::EXIT_LOCAL;
using exportd::ctl::findNetrc;
using exportd::ctl::lookupNetrc;
using exportd::ctl::NetrcEntry;

namespace fs = std::filesystem;

namespace {

const std::optional<std::string> ANY_USER;

void writeFile(const fs::path& path, const std::string& text)
{
    std::ofstream out(path);
    out << text;
}

} // namespace

class NetrcTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(NetrcTest);
    CPPUNIT_TEST(testFindMachineEntryGivesLoginAndPassword);
    CPPUNIT_TEST(testFindMachineEntryWinsOverDefault);
    CPPUNIT_TEST(testFindNoMachineEntryFallsBackToDefault);
    CPPUNIT_TEST(testFindNoMachineEntryNoDefaultGivesNothing);
    CPPUNIT_TEST(testFindFirstOfTwoMachineEntriesWins);
    CPPUNIT_TEST(testFindFirstOfTwoDefaultsIsTheFallback);
    CPPUNIT_TEST(testFindHostDiffersByPrefixGivesNothing);
    CPPUNIT_TEST(testFindUserGivenSkipsEntriesOfOtherLogins);
    CPPUNIT_TEST(testFindUserGivenIgnoresDefaultOfOtherLogin);
    CPPUNIT_TEST(testFindEntriesOnOneLineAreSeparated);
    CPPUNIT_TEST(testFindQuotedTokenKeepsSpacesAndEscapes);
    CPPUNIT_TEST(testFindMacdefBodyIsSkippedUpToEmptyLine);
    CPPUNIT_TEST(testFindAccountValueIsNotAKeyword);
    CPPUNIT_TEST(testFindEntryWithoutPasswordHasEmptyPassword);
    CPPUNIT_TEST(testLookupExplicitFileIsRead);
    CPPUNIT_TEST(testLookupExplicitMissingFileIsLocalError);
    CPPUNIT_TEST(testLookupNetrcVariableNamesTheFile);
    CPPUNIT_TEST(testLookupNetrcVariableMissingFileIsLocalError);
    CPPUNIT_TEST(testLookupExplicitPathWinsOverNetrcVariable);
    CPPUNIT_TEST(testLookupHomeNetrcIsReadByDefault);
    CPPUNIT_TEST(testLookupHomeWithoutNetrcGivesNothing);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        for (const char* name : {"HOME", "NETRC"}) {
            const char* v = std::getenv(name);
            _saved[name == std::string("HOME") ? 0 : 1] = v ? std::optional<std::string>(v) : std::nullopt;
        }
        ::unsetenv("NETRC");
        // HOME points at a fresh directory, so that ~/.netrc is the test's.
        std::string pattern = (fs::temp_directory_path() / "exportctl-netrc-XXXXXX").string();
        CPPUNIT_ASSERT(::mkdtemp(pattern.data()) != nullptr);
        _dir = pattern;
        ::setenv("HOME", _dir.c_str(), 1);
    }

    void tearDown() override
    {
        const char* names[] = {"HOME", "NETRC"};
        for (int i = 0; i < 2; ++i) {
            if (_saved[i])
                ::setenv(names[i], _saved[i]->c_str(), 1);
            else
                ::unsetenv(names[i]);
        }
        std::error_code ignored;
        fs::remove_all(_dir, ignored);
    }

    void testFindMachineEntryGivesLoginAndPassword()
    {
        const auto e = findNetrc("machine exports.example.org login alice password s3cret\n", "exports.example.org",
                                 ANY_USER);
        CPPUNIT_ASSERT(e);
        CPPUNIT_ASSERT_EQUAL(std::string("alice"), e->login);
        CPPUNIT_ASSERT_EQUAL(std::string("s3cret"), e->password);
    }

    // The default entry comes first in the file and still loses.
    void testFindMachineEntryWinsOverDefault()
    {
        const auto e = findNetrc("default login anon password guest\n"
                                 "machine h login alice password a\n",
                                 "h", ANY_USER);
        CPPUNIT_ASSERT(e);
        CPPUNIT_ASSERT_EQUAL(std::string("alice"), e->login);
    }

    void testFindNoMachineEntryFallsBackToDefault()
    {
        const auto e = findNetrc("machine other login alice password a\n"
                                 "default login anon password guest\n",
                                 "h", ANY_USER);
        CPPUNIT_ASSERT(e);
        CPPUNIT_ASSERT_EQUAL(std::string("anon"), e->login);
        CPPUNIT_ASSERT_EQUAL(std::string("guest"), e->password);
    }

    void testFindNoMachineEntryNoDefaultGivesNothing()
    {
        CPPUNIT_ASSERT(!findNetrc("machine other login alice password a\n", "h", ANY_USER));
        CPPUNIT_ASSERT(!findNetrc("", "h", ANY_USER));
    }

    void testFindFirstOfTwoMachineEntriesWins()
    {
        const auto e = findNetrc("machine h login first password 1\nmachine h login second password 2\n", "h",
                                 ANY_USER);
        CPPUNIT_ASSERT(e);
        CPPUNIT_ASSERT_EQUAL(std::string("first"), e->login);
    }

    void testFindFirstOfTwoDefaultsIsTheFallback()
    {
        const auto e = findNetrc("default login one password 1\ndefault login two password 2\n", "h", ANY_USER);
        CPPUNIT_ASSERT(e);
        CPPUNIT_ASSERT_EQUAL(std::string("one"), e->login);
    }

    void testFindHostDiffersByPrefixGivesNothing()
    {
        CPPUNIT_ASSERT(!findNetrc("machine example.org login alice password a\n", "www.example.org", ANY_USER));
        CPPUNIT_ASSERT(!findNetrc("machine www.example.org login alice password a\n", "example.org", ANY_USER));
    }

    void testFindUserGivenSkipsEntriesOfOtherLogins()
    {
        const auto e = findNetrc("machine h login alice password a\nmachine h login bob password b\n", "h",
                                 std::string("bob"));
        CPPUNIT_ASSERT(e);
        CPPUNIT_ASSERT_EQUAL(std::string("bob"), e->login);
        CPPUNIT_ASSERT_EQUAL(std::string("b"), e->password);
    }

    void testFindUserGivenIgnoresDefaultOfOtherLogin()
    {
        CPPUNIT_ASSERT(!findNetrc("default login anon password guest\n", "h", std::string("bob")));
        const auto e = findNetrc("default login bob password b\n", "h", std::string("bob"));
        CPPUNIT_ASSERT(e);
        CPPUNIT_ASSERT_EQUAL(std::string("b"), e->password);
    }

    void testFindEntriesOnOneLineAreSeparated()
    {
        const auto e = findNetrc("machine a login x password y machine h login u password v", "h", ANY_USER);
        CPPUNIT_ASSERT(e);
        CPPUNIT_ASSERT_EQUAL(std::string("u"), e->login);
        CPPUNIT_ASSERT_EQUAL(std::string("v"), e->password);
    }

    void testFindQuotedTokenKeepsSpacesAndEscapes()
    {
        const auto e = findNetrc("machine h login \"al ice\" password \"p a\\\"ss\"\n", "h", ANY_USER);
        CPPUNIT_ASSERT(e);
        CPPUNIT_ASSERT_EQUAL(std::string("al ice"), e->login);
        CPPUNIT_ASSERT_EQUAL(std::string("p a\"ss"), e->password);
    }

    // A macro body holds arbitrary text, netrc keywords included.
    void testFindMacdefBodyIsSkippedUpToEmptyLine()
    {
        const auto e = findNetrc("macdef init\nmachine h login evil password bad\n\n"
                                 "machine h login alice password a\n",
                                 "h", ANY_USER);
        CPPUNIT_ASSERT(e);
        CPPUNIT_ASSERT_EQUAL(std::string("alice"), e->login);
    }

    // "account" takes a value, even one that reads like a keyword.
    void testFindAccountValueIsNotAKeyword()
    {
        const auto e = findNetrc("machine h account login login alice password a\n", "h", ANY_USER);
        CPPUNIT_ASSERT(e);
        CPPUNIT_ASSERT_EQUAL(std::string("alice"), e->login);
        CPPUNIT_ASSERT_EQUAL(std::string("a"), e->password);
    }

    void testFindEntryWithoutPasswordHasEmptyPassword()
    {
        const auto e = findNetrc("machine h login alice\n", "h", ANY_USER);
        CPPUNIT_ASSERT(e);
        CPPUNIT_ASSERT_EQUAL(std::string("alice"), e->login);
        CPPUNIT_ASSERT_EQUAL(std::string(""), e->password);
    }

    void testLookupExplicitFileIsRead()
    {
        writeFile(_dir / "creds", "machine h login alice password a\n");
        const auto e = lookupNetrc((_dir / "creds").string(), "h", ANY_USER);
        CPPUNIT_ASSERT(e);
        CPPUNIT_ASSERT_EQUAL(std::string("alice"), e->login);
    }

    void testLookupExplicitMissingFileIsLocalError()
    {
        assertLocalError((_dir / "absent").string());
    }

    void testLookupNetrcVariableNamesTheFile()
    {
        writeFile(_dir / "from-env", "machine h login envuser password e\n");
        writeFile(_dir / ".netrc", "machine h login homeuser password x\n");
        ::setenv("NETRC", (_dir / "from-env").c_str(), 1);
        const auto e = lookupNetrc("", "h", ANY_USER);
        CPPUNIT_ASSERT(e);
        CPPUNIT_ASSERT_EQUAL(std::string("envuser"), e->login);
    }

    void testLookupNetrcVariableMissingFileIsLocalError()
    {
        writeFile(_dir / ".netrc", "machine h login homeuser password x\n");
        ::setenv("NETRC", (_dir / "absent").c_str(), 1);
        assertLocalError("");
    }

    void testLookupExplicitPathWinsOverNetrcVariable()
    {
        writeFile(_dir / "explicit", "machine h login cli password c\n");
        writeFile(_dir / "from-env", "machine h login envuser password e\n");
        ::setenv("NETRC", (_dir / "from-env").c_str(), 1);
        const auto e = lookupNetrc((_dir / "explicit").string(), "h", ANY_USER);
        CPPUNIT_ASSERT(e);
        CPPUNIT_ASSERT_EQUAL(std::string("cli"), e->login);
    }

    void testLookupHomeNetrcIsReadByDefault()
    {
        writeFile(_dir / ".netrc", "machine h login homeuser password x\n");
        const auto e = lookupNetrc("", "h", ANY_USER);
        CPPUNIT_ASSERT(e);
        CPPUNIT_ASSERT_EQUAL(std::string("homeuser"), e->login);
    }

    // No ~/.netrc is the usual case, not an error.
    void testLookupHomeWithoutNetrcGivesNothing()
    {
        CPPUNIT_ASSERT(!lookupNetrc("", "h", ANY_USER));
    }

private:
    void assertLocalError(const std::string& path)
    {
        try {
            lookupNetrc(path, "h", ANY_USER);
        } catch (const CtlError& e) {
            CPPUNIT_ASSERT_EQUAL(int(EXIT_LOCAL), e.exitCode());
            CPPUNIT_ASSERT(std::string(e.what()).find("cannot read netrc file") != std::string::npos);
            return;
        }
        CPPUNIT_FAIL("expected a local error");
    }

    std::optional<std::string> _saved[2];
    fs::path _dir;
};

CPPUNIT_TEST_SUITE_REGISTRATION(NetrcTest);
