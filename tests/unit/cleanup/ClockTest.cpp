#include "cleanup/Clock.h"
#include "cleanup/ExportRecord.h"

#include <cppunit/extensions/HelperMacros.h>

#include <cstdio>
#include <ctime>
#include <random>
#include <stdexcept>

using namespace exportd::cleanup;

class ClockTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ClockTest);
    CPPUNIT_TEST(testFormatRfc3339HasMillisecondsAndZ);
    CPPUNIT_TEST(testFormatRfc3339AgreesWithGmtime);
    CPPUNIT_TEST(testAppendRfc3339Appends);
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

    // The calendar arithmetic against the C library's gmtime_r, at the edges
    // (leap days, centuries, 1970, years 0 and 9999) and at a million random
    // instants from year 0 to 9999.
    void testFormatRfc3339AgreesWithGmtime()
    {
        auto expected = [](Millis t) {
            const Millis ms = ((t % 1000) + 1000) % 1000;
            const std::time_t secs = static_cast<std::time_t>((t - ms) / 1000);
            std::tm tm{};
            ::gmtime_r(&secs, &tm);
            char buf[64];
            std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                          tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
            return std::string(buf);
        };
        const Millis first = -62167219200000;  // 0000-01-01T00:00:00.000Z
        const Millis last = 253402300799999;   // 9999-12-31T23:59:59.999Z
        CPPUNIT_ASSERT_EQUAL(std::string("0000-01-01T00:00:00.000Z"), formatRfc3339(first));
        CPPUNIT_ASSERT_EQUAL(std::string("9999-12-31T23:59:59.999Z"), formatRfc3339(last));
        CPPUNIT_ASSERT_EQUAL(std::string("2024-02-29T23:59:59.999Z"), formatRfc3339(1709251199999));
        CPPUNIT_ASSERT_EQUAL(std::string("2000-03-01T00:00:00.000Z"), formatRfc3339(951868800000));
        CPPUNIT_ASSERT_EQUAL(std::string("1900-03-01T00:00:00.000Z"), formatRfc3339(-2203891200000));
        std::mt19937_64 random(20261129);
        std::uniform_int_distribution<Millis> instant(first, last);
        for (int i = 0; i < 1000000; ++i) {
            const Millis t = instant(random);
            const std::string got = formatRfc3339(t);
            if (got != expected(t))
                CPPUNIT_FAIL("at " + std::to_string(t) + ": " + got + " != " + expected(t));
        }
    }

    void testAppendRfc3339Appends()
    {
        std::string out = "at ";
        appendRfc3339(out, 1795952785123);
        CPPUNIT_ASSERT_EQUAL(std::string("at 2026-11-29T11:46:25.123Z"), out);
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
