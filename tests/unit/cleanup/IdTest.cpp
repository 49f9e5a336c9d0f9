#include "cleanup/Sweeper.h"

#include <cppunit/extensions/HelperMacros.h>

#include <set>

using namespace exportd::cleanup;

class IdTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(IdTest);
    CPPUNIT_TEST(testNewIdIsTwentyTwoUrlSafeCharacters);
    CPPUNIT_TEST(testNewIdsDoNotRepeat);
    CPPUNIT_TEST(testWellFormedIdAcceptsOnlyUrlSafeOfRightLength);
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
};

CPPUNIT_TEST_SUITE_REGISTRATION(IdTest);
