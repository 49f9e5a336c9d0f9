#include "cleanup/ExportId.h"

#include <cppunit/extensions/HelperMacros.h>

#include <set>

using namespace exportd::cleanup;

class IdTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(IdTest);
    CPPUNIT_TEST(testNewIdIsTwentyTwoUrlSafeCharacters);
    CPPUNIT_TEST(testNewIdsDoNotRepeat);
    CPPUNIT_TEST(testWellFormedIdAcceptsOnlyUrlSafeOfRightLength);
    CPPUNIT_TEST(testMintedIdIsExactlyTheShapeOfNewExportId);
    CPPUNIT_TEST(testExportFileNameIsAMintedIdOptionallyWithPart);
    CPPUNIT_TEST_SUITE_END();

public:
    void testNewIdIsTwentyTwoUrlSafeCharacters()
    {
        const std::string id = newExportId();
        CPPUNIT_ASSERT_EQUAL(std::size_t(22), id.size());
        CPPUNIT_ASSERT(isWellFormedId(id));
    }

    void testNewIdsDoNotRepeat()
    {
        std::set<std::string> ids;
        std::set<char> lastChars;
        for (int i = 0; i < 10000; ++i) {
            const std::string id = newExportId();
            ids.insert(id);
            lastChars.insert(id.back());
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t(10000), ids.size());
        // 128 bits leave 2 bits in the last character: only 4 values can occur there.
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), lastChars.size());
    }

    void testWellFormedIdAcceptsOnlyUrlSafeOfRightLength()
    {
        CPPUNIT_ASSERT(isWellFormedId("abcdefghijklmnopqrstu-"));             // 22
        CPPUNIT_ASSERT(isWellFormedId("ABCDEFGHIJKLMNOPQRSTUVWXYZ_01234"));   // 32
        CPPUNIT_ASSERT(!isWellFormedId("abcdefghijklmnopqrstu"));             // 21
        CPPUNIT_ASSERT(!isWellFormedId("ABCDEFGHIJKLMNOPQRSTUVWXYZ_012345")); // 33
        CPPUNIT_ASSERT(!isWellFormedId("abcdefghijklmnopqrstu."));
        CPPUNIT_ASSERT(!isWellFormedId("abcdefghijklmnopqrs/.."));
        CPPUNIT_ASSERT(!isWellFormedId("abcdefghijklmnopqrstu+"));
        CPPUNIT_ASSERT(!isWellFormedId("abcdefghijklmnopqrstuv.part"));
        CPPUNIT_ASSERT(!isWellFormedId(""));
    }

    // Verifies the sweeper's rule: 22 base64url characters whose last one carries
    // only the 2 remaining bits of 128 (A, Q, g or w), as newExportId() makes them.
    void testMintedIdIsExactlyTheShapeOfNewExportId()
    {
        for (int i = 0; i < 10000; ++i) {
            const std::string id = newExportId();
            CPPUNIT_ASSERT_MESSAGE(id, isMintedId(id));
        }
        for (char last : {'A', 'Q', 'g', 'w'})
            CPPUNIT_ASSERT(isMintedId("abcdefghij-_012345678" + std::string(1, last)));
        CPPUNIT_ASSERT(!isMintedId("Quarterly_Report_2026_v2"));       // 24: well-formed, not minted
        CPPUNIT_ASSERT(isWellFormedId("Quarterly_Report_2026_v2"));
        CPPUNIT_ASSERT(!isMintedId("abcdefghij-_012345678B"));         // 22, last character impossible
        CPPUNIT_ASSERT(!isMintedId("abcdefghij-_012345678x"));
        CPPUNIT_ASSERT(!isMintedId("abcdefghij-_012345678-"));
        CPPUNIT_ASSERT(!isMintedId("abcdefghij-_01234567A"));          // 21
        CPPUNIT_ASSERT(!isMintedId("abcdefghij-_0123456789A"));        // 23
        CPPUNIT_ASSERT(!isMintedId("abcdefghij+_012345678A"));
        CPPUNIT_ASSERT(!isMintedId("abcdefghij/_012345678A"));
        CPPUNIT_ASSERT(!isMintedId("abcdefghij=_012345678A"));
        CPPUNIT_ASSERT(!isMintedId("abcdefghij._012345678A"));
        CPPUNIT_ASSERT(!isMintedId("abcdefghij-_012345678A.part"));
        CPPUNIT_ASSERT(!isMintedId(std::string("abcdefghij\0_012345678A", 22)));
        CPPUNIT_ASSERT(!isMintedId(""));
    }

    // Verifies the one parser of exports_dir's names (the sweeper's and the
    // metrics' directory scans): `<minted id>` or `<minted id>.part`, no more.
    void testExportFileNameIsAMintedIdOptionallyWithPart()
    {
        const std::string id = "abcdefghij-_012345678A";
        auto ready = parseExportFileName(id);
        CPPUNIT_ASSERT(ready && ready->id == id && !ready->part);
        auto part = parseExportFileName(id + ".part");
        CPPUNIT_ASSERT(part && part->id == id && part->part);
        CPPUNIT_ASSERT_EQUAL(id + ".part", partFileName(id));
        CPPUNIT_ASSERT(!parseExportFileName(id + ".part.part"));
        CPPUNIT_ASSERT(!parseExportFileName(id + ".bak"));
        CPPUNIT_ASSERT(!parseExportFileName("Quarterly_Report_2026_v2"));
        CPPUNIT_ASSERT(!parseExportFileName("Quarterly_Report_2026_v2.part"));
        CPPUNIT_ASSERT(!parseExportFileName(".part"));
        CPPUNIT_ASSERT(!parseExportFileName("."));
        CPPUNIT_ASSERT(!parseExportFileName(""));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(IdTest);
