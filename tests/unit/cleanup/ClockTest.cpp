#include "cleanup/Clock.h"
#include "cleanup/ExportRecord.h"

#include <cppunit/extensions/HelperMacros.h>

#include <stdexcept>

using namespace exportd::cleanup;

class ClockTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ClockTest);
    CPPUNIT_TEST(testFormatRfc3339HasMillisecondsAndZ);
    CPPUNIT_TEST(testFormatCompactUtcHasNoSeparators);
    CPPUNIT_TEST(testSystemClockIsWallTime);
    CPPUNIT_TEST(testManualClockMovesOnlyWhenTold);
    CPPUNIT_TEST(testStatusNamesRoundTrip);
    CPPUNIT_TEST(testUnknownStatusNameIsRejected);
    CPPUNIT_TEST(testReadyIsExpiredFromExpiresAtOn);
    CPPUNIT_TEST_SUITE_END();

public:
    void testFormatRfc3339HasMillisecondsAndZ()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("1970-01-01T00:00:00.000Z"), formatRfc3339(0));
        CPPUNIT_ASSERT_EQUAL(std::string("2026-11-29T11:46:25.123Z"), formatRfc3339(1795952785123));
        CPPUNIT_ASSERT_EQUAL(std::string("1969-12-31T23:59:59.999Z"), formatRfc3339(-1));
    }

    void testFormatCompactUtcHasNoSeparators()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("20261129T114625Z"), formatCompactUtc(1795952785999));
    }

    void testSystemClockIsWallTime()
    {
        SystemClock clock;
        const Millis t = clock.nowMs();
        CPPUNIT_ASSERT(t > 1700000000000); // after 2023
        CPPUNIT_ASSERT(clock.nowMs() >= t);
    }

    void testManualClockMovesOnlyWhenTold()
    {
        ManualClock clock(1000);
        CPPUNIT_ASSERT_EQUAL(Millis(1000), clock.nowMs());
        clock.advance(500);
        CPPUNIT_ASSERT_EQUAL(Millis(1500), clock.nowMs());
        clock.set(42);
        CPPUNIT_ASSERT_EQUAL(Millis(42), clock.nowMs());
    }

    void testStatusNamesRoundTrip()
    {
        for (ExportStatus s : {ExportStatus::Queued, ExportStatus::Running, ExportStatus::Ready,
                               ExportStatus::Expired, ExportStatus::Deleted, ExportStatus::Failed})
            CPPUNIT_ASSERT(statusFromString(toString(s)) == s);
        CPPUNIT_ASSERT_EQUAL(std::string("expired"), toString(ExportStatus::Expired));
    }

    void testUnknownStatusNameIsRejected()
    {
        CPPUNIT_ASSERT_THROW(statusFromString("Ready"), std::invalid_argument);
        CPPUNIT_ASSERT_THROW(statusFromString(""), std::invalid_argument);
    }

    void testReadyIsExpiredFromExpiresAtOn()
    {
        ExportRecord r;
        r.status = ExportStatus::Ready;
        r.expiresAt = 1000;
        CPPUNIT_ASSERT(r.effectiveStatus(999) == ExportStatus::Ready);
        CPPUNIT_ASSERT(r.effectiveStatus(1000) == ExportStatus::Expired);
        r.status = ExportStatus::Deleted;
        CPPUNIT_ASSERT(r.effectiveStatus(2000) == ExportStatus::Deleted);
        r.status = ExportStatus::Running;
        r.expiresAt.reset();
        CPPUNIT_ASSERT(r.effectiveStatus(2000) == ExportStatus::Running);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ClockTest);
