#include "CtlError.h"
#include "Options.h"

#include <cppunit/extensions/HelperMacros.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <vector>

using exportd::ctl::CtlError;
using exportd::ctl::EXIT_USAGE;
using exportd::ctl::Options;
using exportd::ctl::parseOptions;

namespace {

Options parse(std::vector<std::string> words)
{
    words.insert(words.begin(), "exportctl");
    std::vector<char*> argv;
    for (auto& w : words)
        argv.push_back(w.data());
    return parseOptions(static_cast<int>(argv.size()), argv.data());
}

// The message of the usage error that `words` cause; fails when they parse or
// end with another exit code.
std::string usageErrorOf(const std::vector<std::string>& words)
{
    try {
        parse(words);
    } catch (const CtlError& e) {
        CPPUNIT_ASSERT_EQUAL(int(EXIT_USAGE), e.exitCode());
        return e.what();
    }
    CPPUNIT_FAIL("expected a usage error");
    return "";
}

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

const char* const ENVIRONMENT[] = {"EXPORTD_URL", "EXPORTD_USER", "EXPORTD_PASSWORD", "EXPORTD_COOKIE_JAR"};

} // namespace

class OptionsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(OptionsTest);
    CPPUNIT_TEST(testOptionsStandAnywhereInBothForms);
    CPPUNIT_TEST(testIdBeginningWithDashIsAnArgument);
    CPPUNIT_TEST(testShortOptionsStillWork);
    CPPUNIT_TEST(testUnknownLongOptionIsAUsageError);
    CPPUNIT_TEST(testMissingValueIsAUsageError);
    CPPUNIT_TEST(testParseOptionBeforeCommandApplies);
    CPPUNIT_TEST(testParseSeparateValueBeginningWithDashIsTheValue);
    CPPUNIT_TEST(testParseEqualsFormKeepsEqualsInValue);
    CPPUNIT_TEST(testParseEqualsFormEmptyValueIsEmpty);
    CPPUNIT_TEST(testParseRepeatedFilterCollectsAndRepeatedUrlLastWins);
    CPPUNIT_TEST(testParseShortHelpSetsHelpWithoutCommand);
    CPPUNIT_TEST(testParseVersionSkipsCommandChecks);
    CPPUNIT_TEST(testParseShortOutputDashWritesToStdout);
    CPPUNIT_TEST(testParseShortOutputGluedValueIsAnArgument);
    CPPUNIT_TEST(testParseDoubleDashMakesLaterOptionsArguments);
    CPPUNIT_TEST(testParseDoubleDashAsValueIsTheValue);
    CPPUNIT_TEST(testParseLoneDashIsAnArgument);
    CPPUNIT_TEST(testParseUnknownShortOptionIsAUsageError);
    CPPUNIT_TEST(testParseAbbreviatedLongOptionIsUnknown);
    CPPUNIT_TEST(testParseUpperCaseLongOptionIsUnknown);
    CPPUNIT_TEST(testParseColonSeparatorIsUnknown);
    CPPUNIT_TEST(testParseUnknownOptionMessageNamesTheWord);
    CPPUNIT_TEST(testParseUnknownOptionWithValueTakesNoValue);
    CPPUNIT_TEST(testParseFlagWithValueIsAUsageError);
    CPPUNIT_TEST(testParseShortOutputAtEndNeedsAValue);
    CPPUNIT_TEST(testParseBadNumberIsAUsageError);
    CPPUNIT_TEST(testParseLimitOutOfRangeIsAUsageError);
    CPPUNIT_TEST(testParseNoCommandIsAUsageError);
    CPPUNIT_TEST(testParseUnknownCommandIsAUsageError);
    CPPUNIT_TEST(testParseWrongArgumentCountIsAUsageError);
    CPPUNIT_TEST(testParseCreateOptionOnOtherCommandIsAUsageError);
    CPPUNIT_TEST(testParseOutputImpliesWaitExceptForDownload);
    CPPUNIT_TEST(testParseEnvironmentSetsConnectionDefaults);
    CPPUNIT_TEST(testParseCommandLineWinsOverEnvironment);
    CPPUNIT_TEST(testParseEmptyEnvironmentKeepsDefaults);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        for (const char* name : ENVIRONMENT) {
            if (const char* v = std::getenv(name))
                _saved[name] = v;
            ::unsetenv(name);
        }
    }

    void tearDown() override
    {
        for (const char* name : ENVIRONMENT) {
            const auto it = _saved.find(name);
            if (it == _saved.end())
                ::unsetenv(name);
            else
                ::setenv(name, it->second.c_str(), 1);
        }
        _saved.clear();
    }

    void testOptionsStandAnywhereInBothForms()
    {
        const Options o = parse({"--url", "http://h:1", "create", "--dataset=orders", "--filter", "country=DE", "--wait"});
        CPPUNIT_ASSERT_EQUAL(std::string("create"), o.command);
        CPPUNIT_ASSERT_EQUAL(std::string("http://h:1"), o.url);
        CPPUNIT_ASSERT_EQUAL(std::string("orders"), o.dataset);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), o.filters.size());
        CPPUNIT_ASSERT(o.wait);
    }

    // Verifies that ids, 22 characters of [A-Za-z0-9_-], may begin with '-'.
    void testIdBeginningWithDashIsAnArgument()
    {
        const Options o = parse({"status", "-EjHRnO94xWv6Y_d2aQbBw"});
        CPPUNIT_ASSERT_EQUAL(std::string("status"), o.command);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), o.args.size());
        CPPUNIT_ASSERT_EQUAL(std::string("-EjHRnO94xWv6Y_d2aQbBw"), o.args[0]);
        const Options p = parse({"download", "--", "--EjHRnO94xWv6Y_d2aQbB"});
        CPPUNIT_ASSERT_EQUAL(std::string("--EjHRnO94xWv6Y_d2aQbB"), p.args.at(0));
    }

    void testShortOptionsStillWork()
    {
        const Options o = parse({"download", "-q", "-o", "out.csv", "AAAAAAAAAAAAAAAAAAAAAA"});
        CPPUNIT_ASSERT(o.quiet);
        CPPUNIT_ASSERT(o.output && *o.output == "out.csv");
        CPPUNIT_ASSERT_EQUAL(std::string("AAAAAAAAAAAAAAAAAAAAAA"), o.args.at(0));
    }

    void testUnknownLongOptionIsAUsageError()
    {
        CPPUNIT_ASSERT_THROW(parse({"list", "--colour"}), CtlError);
    }

    void testMissingValueIsAUsageError()
    {
        CPPUNIT_ASSERT_THROW(parse({"create", "--dataset"}), CtlError);
    }

    void testParseOptionBeforeCommandApplies()
    {
        const Options o = parse({"--json", "--limit=5", "list"});
        CPPUNIT_ASSERT_EQUAL(std::string("list"), o.command);
        CPPUNIT_ASSERT(o.json);
        CPPUNIT_ASSERT_EQUAL(5, o.limit);
        CPPUNIT_ASSERT(o.args.empty());
    }

    // The word after an option that takes a value is that value, whatever it
    // looks like: a password may begin with '-', or be "--wait".
    void testParseSeparateValueBeginningWithDashIsTheValue()
    {
        const Options o = parse({"list", "--password", "-secret", "--user", "--wait"});
        CPPUNIT_ASSERT(o.password && *o.password == "-secret");
        CPPUNIT_ASSERT(o.user && *o.user == "--wait");
        CPPUNIT_ASSERT(!o.wait);
        CPPUNIT_ASSERT(o.args.empty());
    }

    void testParseEqualsFormKeepsEqualsInValue()
    {
        const Options o = parse({"create", "--dataset=orders", "--filter=note=a=b", "--url=http://h:1/x?y=z"});
        CPPUNIT_ASSERT_EQUAL(std::string("note=a=b"), o.filters.at(0));
        CPPUNIT_ASSERT_EQUAL(std::string("http://h:1/x?y=z"), o.url);
    }

    void testParseEqualsFormEmptyValueIsEmpty()
    {
        const Options o = parse({"list", "--cacert=", "--netrc-file", ""});
        CPPUNIT_ASSERT_EQUAL(std::string(""), o.caFile);
        CPPUNIT_ASSERT_EQUAL(std::string(""), o.netrcFile);
        CPPUNIT_ASSERT(o.args.empty());
        CPPUNIT_ASSERT(contains(usageErrorOf({"list", "--user", ""}), "--user needs a name"));
        CPPUNIT_ASSERT(contains(usageErrorOf({"download", "X", "--output="}), "--output needs a path"));
    }

    void testParseRepeatedFilterCollectsAndRepeatedUrlLastWins()
    {
        const Options o = parse({"create", "--dataset", "orders", "--filter", "a=1", "--url", "http://one",
                                 "--filter=b=2", "--url=http://two"});
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), o.filters.size());
        CPPUNIT_ASSERT_EQUAL(std::string("a=1"), o.filters[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("b=2"), o.filters[1]);
        CPPUNIT_ASSERT_EQUAL(std::string("http://two"), o.url);
    }

    void testParseShortHelpSetsHelpWithoutCommand()
    {
        const Options o = parse({"-h"});
        CPPUNIT_ASSERT(o.help);
        CPPUNIT_ASSERT(o.command.empty());
        CPPUNIT_ASSERT(parse({"--help"}).help);
    }

    void testParseVersionSkipsCommandChecks()
    {
        const Options o = parse({"--version", "frobnicate", "x", "y"});
        CPPUNIT_ASSERT(o.version);
        CPPUNIT_ASSERT_EQUAL(std::string("frobnicate"), o.command);
    }

    void testParseShortOutputDashWritesToStdout()
    {
        const Options o = parse({"download", "-o", "-", "AAAAAAAAAAAAAAAAAAAAAA"});
        CPPUNIT_ASSERT(o.output && *o.output == "-");
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), o.args.size());
    }

    // "-oFILE" is not -o FILE: a single-dash word of more than two characters
    // is an export id.
    void testParseShortOutputGluedValueIsAnArgument()
    {
        const Options o = parse({"download", "-oout.csv"});
        CPPUNIT_ASSERT(!o.output);
        CPPUNIT_ASSERT_EQUAL(std::string("-oout.csv"), o.args.at(0));
        const Options q = parse({"status", "-qq"});
        CPPUNIT_ASSERT(!q.quiet);
        CPPUNIT_ASSERT_EQUAL(std::string("-qq"), q.args.at(0));
    }

    void testParseDoubleDashMakesLaterOptionsArguments()
    {
        const Options o = parse({"status", "--json", "--", "--wait"});
        CPPUNIT_ASSERT(o.json);
        CPPUNIT_ASSERT(!o.wait);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), o.args.size());
        CPPUNIT_ASSERT_EQUAL(std::string("--wait"), o.args[0]);
        const Options p = parse({"--", "status", "-q"});
        CPPUNIT_ASSERT_EQUAL(std::string("status"), p.command);
        CPPUNIT_ASSERT(!p.quiet);
        CPPUNIT_ASSERT_EQUAL(std::string("-q"), p.args.at(0));
    }

    void testParseDoubleDashAsValueIsTheValue()
    {
        const Options o = parse({"list", "--password", "--", "--json"});
        CPPUNIT_ASSERT(o.password && *o.password == "--");
        CPPUNIT_ASSERT(o.json);
    }

    void testParseLoneDashIsAnArgument()
    {
        const Options o = parse({"status", "-"});
        CPPUNIT_ASSERT_EQUAL(std::string("-"), o.args.at(0));
    }

    void testParseUnknownShortOptionIsAUsageError()
    {
        CPPUNIT_ASSERT(contains(usageErrorOf({"list", "-x"}), "unknown option -x"));
    }

    void testParseAbbreviatedLongOptionIsUnknown()
    {
        CPPUNIT_ASSERT(contains(usageErrorOf({"create", "--data", "orders"}), "unknown option --data"));
        CPPUNIT_ASSERT(contains(usageErrorOf({"list", "--js"}), "unknown option --js"));
    }

    void testParseUpperCaseLongOptionIsUnknown()
    {
        CPPUNIT_ASSERT(contains(usageErrorOf({"list", "--URL", "http://h"}), "unknown option --URL"));
        CPPUNIT_ASSERT(contains(usageErrorOf({"list", "--Json"}), "unknown option --Json"));
    }

    void testParseColonSeparatorIsUnknown()
    {
        CPPUNIT_ASSERT(contains(usageErrorOf({"list", "--url:http://h"}), "unknown option --url:http://h"));
    }

    void testParseUnknownOptionMessageNamesTheWord()
    {
        const std::string message = usageErrorOf({"list", "--colour"});
        CPPUNIT_ASSERT_EQUAL(std::string("unknown option --colour (see exportctl --help)"), message);
    }

    // An unknown name with "=VALUE" is refused for its value, as it always was.
    void testParseUnknownOptionWithValueTakesNoValue()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("--colour takes no value"), usageErrorOf({"list", "--colour=red"}));
        CPPUNIT_ASSERT_EQUAL(std::string("--URL takes no value"), usageErrorOf({"list", "--URL=http://h"}));
    }

    void testParseFlagWithValueIsAUsageError()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("--wait takes no value"), usageErrorOf({"status", "X", "--wait=yes"}));
        CPPUNIT_ASSERT_EQUAL(std::string("--help takes no value"), usageErrorOf({"--help="}));
    }

    void testParseShortOutputAtEndNeedsAValue()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("--output needs a value"), usageErrorOf({"download", "X", "-o"}));
        CPPUNIT_ASSERT_EQUAL(std::string("--dataset needs a value"), usageErrorOf({"create", "--dataset"}));
    }

    void testParseBadNumberIsAUsageError()
    {
        CPPUNIT_ASSERT(contains(usageErrorOf({"status", "X", "--timeout", "soon"}), "--timeout: 'soon'"));
        CPPUNIT_ASSERT(contains(usageErrorOf({"list", "--request-timeout=-1"}), "--request-timeout"));
        CPPUNIT_ASSERT(contains(usageErrorOf({"create", "--dataset=o", "--retention=0"}), "--retention"));
    }

    void testParseLimitOutOfRangeIsAUsageError()
    {
        CPPUNIT_ASSERT_EQUAL(500, parse({"list", "--limit", "500"}).limit);
        CPPUNIT_ASSERT(contains(usageErrorOf({"list", "--limit", "501"}), "from 1 to 500"));
    }

    void testParseNoCommandIsAUsageError()
    {
        CPPUNIT_ASSERT(contains(usageErrorOf({"--json"}), "no command given"));
    }

    void testParseUnknownCommandIsAUsageError()
    {
        CPPUNIT_ASSERT(contains(usageErrorOf({"frobnicate"}), "unknown command 'frobnicate'"));
    }

    void testParseWrongArgumentCountIsAUsageError()
    {
        CPPUNIT_ASSERT(contains(usageErrorOf({"status"}), "status takes one export id"));
        CPPUNIT_ASSERT(contains(usageErrorOf({"list", "extra"}), "list takes no argument"));
    }

    void testParseCreateOptionOnOtherCommandIsAUsageError()
    {
        CPPUNIT_ASSERT(contains(usageErrorOf({"list", "--dataset", "orders"}), "belong to create"));
        CPPUNIT_ASSERT(contains(usageErrorOf({"create"}), "create needs --dataset"));
        CPPUNIT_ASSERT(contains(usageErrorOf({"delete", "X", "--wait"}), "--wait and --timeout belong"));
        CPPUNIT_ASSERT(contains(usageErrorOf({"delete", "X", "-o", "f"}), "--output belongs"));
        CPPUNIT_ASSERT(contains(usageErrorOf({"status", "X", "--limit=3"}), "--limit belongs to list"));
    }

    void testParseOutputImpliesWaitExceptForDownload()
    {
        CPPUNIT_ASSERT(parse({"status", "X", "-o", "f"}).wait);
        CPPUNIT_ASSERT(!parse({"download", "X", "-o", "f"}).wait);
    }

    void testParseEnvironmentSetsConnectionDefaults()
    {
        ::setenv("EXPORTD_URL", "http://env:9", 1);
        ::setenv("EXPORTD_USER", "alice", 1);
        ::setenv("EXPORTD_PASSWORD", "pw", 1);
        ::setenv("EXPORTD_COOKIE_JAR", "env.jar", 1);
        const Options o = parse({"list"});
        CPPUNIT_ASSERT_EQUAL(std::string("http://env:9"), o.url);
        CPPUNIT_ASSERT(o.user && *o.user == "alice");
        CPPUNIT_ASSERT(o.password && *o.password == "pw");
        CPPUNIT_ASSERT_EQUAL(std::string("env.jar"), o.cookieJar);
    }

    void testParseCommandLineWinsOverEnvironment()
    {
        ::setenv("EXPORTD_URL", "http://env:9", 1);
        ::setenv("EXPORTD_USER", "alice", 1);
        ::setenv("EXPORTD_PASSWORD", "pw", 1);
        ::setenv("EXPORTD_COOKIE_JAR", "env.jar", 1);
        const Options o = parse({"list", "--url", "http://cli:1", "--user=bob", "--password", "secret",
                                 "--cookie-jar", "mine"});
        CPPUNIT_ASSERT_EQUAL(std::string("http://cli:1"), o.url);
        CPPUNIT_ASSERT(o.user && *o.user == "bob");
        CPPUNIT_ASSERT(o.password && *o.password == "secret");
        CPPUNIT_ASSERT_EQUAL(std::string("mine"), o.cookieJar);
    }

    void testParseEmptyEnvironmentKeepsDefaults()
    {
        ::setenv("EXPORTD_URL", "", 1);
        ::setenv("EXPORTD_USER", "", 1);
        ::setenv("EXPORTD_PASSWORD", "", 1);
        const Options o = parse({"list"});
        CPPUNIT_ASSERT_EQUAL(std::string("http://127.0.0.1:8080"), o.url);
        CPPUNIT_ASSERT(!o.user);
        CPPUNIT_ASSERT(!o.password);
        CPPUNIT_ASSERT(o.cookieJar.empty());
    }

private:
    std::map<std::string, std::string> _saved;
};

CPPUNIT_TEST_SUITE_REGISTRATION(OptionsTest);
