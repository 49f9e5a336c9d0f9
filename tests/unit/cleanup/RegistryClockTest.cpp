#include "FakeRegistries.h"
#include "TestSupport.h"

#include "cleanup/CleanupScheduler.h"
#include "cleanup/RegistryClock.h"
#include "cleanup/Sweeper.h"

#include <Poco/Logger.h>
#include <cppunit/extensions/HelperMacros.h>

#include <memory>

using namespace exportd::cleanup;
using namespace exportd::cleanup::test;

/// A host whose clock is 30 s off the registry's (SkewedRegistry: the
/// registry's clock is the one set apart, which is the same to this host):
/// RegistryClock reads the registry's time, timers fire when the registry's
/// clock reaches expires_at (neither early nor 30 s late), and the lease
/// written through it looks alive to a host whose clock is right.
class RegistryClockTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RegistryClockTest);
    CPPUNIT_TEST(testOffsetIsMeasuredAndApplied);
    CPPUNIT_TEST(testSyncFollowsAChangedOffset);
    CPPUNIT_TEST(testSlowMeasurementIsDroppedWhileTheOffsetIsFresh);
    CPPUNIT_TEST(testSystemTimeAtRoundsLateByTheUncertainty);
    CPPUNIT_TEST(testSystemClockIsNotAligned);
    CPPUNIT_TEST(testTimerFiresAtTheRegistrysExpiryWhenAhead);
    CPPUNIT_TEST(testTimerFiresAtTheRegistrysExpiryWhenBehind);
    CPPUNIT_TEST(testHeartbeatOfASkewedHostLooksAlive);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _dir = std::make_unique<TempDir>();
        _exports = makeExportsDir(*_dir);
        _store = openDirectoryStore(_exports);
    }

    void tearDown() override { _dir.reset(); }

    void testOffsetIsMeasuredAndApplied()
    {
        for (const Millis skew : {Millis(30000), Millis(-30000)}) {
            SkewedRegistry reg(_dir->file("registry.db"), skew);
            RegistryClock clock(reg);
            CPPUNIT_ASSERT_EQUAL(1, reg.reads());
            const auto aligned = clock.alignment();
            CPPUNIT_ASSERT(aligned.has_value());
            CPPUNIT_ASSERT(aligned->uncertaintyUs >= 500);
            CPPUNIT_ASSERT(aligned->ageMs >= 0 && aligned->ageMs < 5000);
            assertAlignedTo(clock, skew);
            CPPUNIT_ASSERT(clock.registryMayReadSystemTime());
        }
    }

    void testSyncFollowsAChangedOffset()
    {
        SkewedRegistry reg(_dir->file("registry.db"), 30000);
        RegistryClock clock(reg);
        reg.setSkew(-5000);
        CPPUNIT_ASSERT(clock.sync());
        CPPUNIT_ASSERT_EQUAL(2, reg.reads());
        assertAlignedTo(clock, -5000);
    }

    // Verifies that a measurement over a slow round trip (a stalled database)
    // does not replace a fresh one: its midpoint says little.
    void testSlowMeasurementIsDroppedWhileTheOffsetIsFresh()
    {
        SkewedRegistry reg(_dir->file("registry.db"), 30000);
        RegistryClock clock(reg);
        reg.setSkew(0);
        reg.setDelayUs(RegistryClock::MAX_ROUND_TRIP_US + 20000);
        CPPUNIT_ASSERT(!clock.sync());
        assertAlignedTo(clock, 30000);
        reg.setDelayUs(0);
        CPPUNIT_ASSERT(clock.sync());
        assertAlignedTo(clock, 0);
    }

    void testSystemTimeAtRoundsLateByTheUncertainty()
    {
        SkewedRegistry reg(_dir->file("registry.db"), 0);
        reg.setDelayUs(20000); // a round trip of 20 ms or more: the offset is known to +- 10.5 ms at best
        RegistryClock clock(reg);
        const auto aligned = *clock.alignment();
        CPPUNIT_ASSERT(aligned.uncertaintyUs >= 10500);
        assertAlignedTo(clock, 0);
        const Millis t = 1764000000000;
        const Millis expected = t + (aligned.uncertaintyUs - aligned.offsetUs + 999) / 1000;
        CPPUNIT_ASSERT_EQUAL(expected, clock.systemTimeAt(t));
        // Late by the uncertainty: wherever in the round trip the registry
        // read its clock, the timer does not fire before its t.
        CPPUNIT_ASSERT(clock.systemTimeAt(t) >= t);
        CPPUNIT_ASSERT(clock.systemTimeAt(t) - t >= (aligned.uncertaintyUs - aligned.offsetUs) / 1000);
    }

    void testSystemClockIsNotAligned()
    {
        SystemClock clock;
        CPPUNIT_ASSERT(!clock.alignment().has_value());
        CPPUNIT_ASSERT_EQUAL(Millis(1234), clock.systemTimeAt(1234));
    }

    void testTimerFiresAtTheRegistrysExpiryWhenAhead() { checkTimerAtRegistryExpiry(30000); }
    void testTimerFiresAtTheRegistrysExpiryWhenBehind() { checkTimerAtRegistryExpiry(-30000); }

    // Verifies leases in the registry's time: with the database's clock 30 s
    // ahead of the hosts', a host that heartbeats through its RegistryClock
    // looks alive to another one; its own clock would have made it look dead.
    void testHeartbeatOfASkewedHostLooksAlive()
    {
        SkewedRegistry hostA(_dir->file("registry.db"), 30000);
        SkewedRegistry hostB(_dir->file("registry.db"), 30000);
        RegistryClock clockA(hostA);
        RegistryClock clockB(hostB);
        Metrics metrics;
        Poco::Logger& logger = quietLogger();
        CleanupScheduler scheduler(hostA, metrics, clockA, *_store, logger, UnlinkMode::OnTimerThread);
        SweeperOptions options;
        options.instanceId = "instance-a";
        Sweeper sweeper(hostA, scheduler, *_store, metrics, clockA, options, logger);
        int syncs = 0;
        sweeper.setBeforeHeartbeat([&] {
            ++syncs;
            clockA.sync();
        });
        sweeper.sweepOnce();
        CPPUNIT_ASSERT_EQUAL(1, syncs);
        CPPUNIT_ASSERT_EQUAL(2, hostA.reads());
        hostA.heartbeat("instance-a-own-clock", SystemClock().nowMs());
        const auto live = hostB.liveInstances(clockB.nowMs(), 10000);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), live.size());
        CPPUNIT_ASSERT_EQUAL(std::string("instance-a"), live[0]);
    }

private:
    // The true offset (`skewMs`) lies within the measured one's uncertainty,
    // and the clock reads the system clock plus that offset.
    static void assertAlignedTo(const RegistryClock& clock, Millis skewMs)
    {
        const auto aligned = *clock.alignment();
        CPPUNIT_ASSERT_MESSAGE("offset " + std::to_string(aligned.offsetUs) + " us, uncertainty "
                                   + std::to_string(aligned.uncertaintyUs) + " us, skew " + std::to_string(skewMs)
                                   + " ms",
                               std::abs(aligned.offsetUs - skewMs * 1000) <= aligned.uncertaintyUs);
        const Millis slackMs = aligned.uncertaintyUs / 1000 + 1;
        const Millis before = SystemClock().nowMs();
        const Millis now = clock.nowMs();
        const Millis after = SystemClock().nowMs();
        CPPUNIT_ASSERT(now >= before + skewMs - slackMs && now <= after + skewMs + slackMs);
        const Millis at = clock.systemTimeAt(before + skewMs);
        CPPUNIT_ASSERT(at >= before && at <= before + 2 * slackMs);
    }

    static Poco::Logger& quietLogger()
    {
        Poco::Logger& logger = Poco::Logger::get("exportd.cleanup.test");
        logger.setLevel(Poco::Message::PRIO_ERROR);
        return logger;
    }

    // An export due 400 ms from now by the registry's clock is deleted then,
    // by this host's clock too: not at once (registry behind), not 30 s late
    // (ahead), never before the registry's clock reaches it.
    void checkTimerAtRegistryExpiry(Millis skew)
    {
        SkewedRegistry reg(_dir->file("registry.db"), skew);
        RegistryClock clock(reg);
        Metrics metrics;
        CleanupScheduler scheduler(reg, metrics, clock, *_store, quietLogger(), UnlinkMode::OnTimerThread);
        const std::string id = newExportFile(_exports, "skew");
        const Millis expires = clock.nowMs() + 400;
        makeReady(reg, id, clock.nowMs(), expires);
        scheduler.schedule(id, expires);
        CPPUNIT_ASSERT(waitFor([&] { return !exists(_exports + "/" + id); }, 5000));
        const Millis gone = reg.registryNow();
        CPPUNIT_ASSERT_MESSAGE("deleted early", gone >= expires);
        CPPUNIT_ASSERT_MESSAGE("deleted late: " + std::to_string(gone - expires) + " ms", gone - expires < 1000);
        CPPUNIT_ASSERT(waitFor([&] { return scheduler.pending() == 0; }));
        const auto rec = reg.find(id);
        CPPUNIT_ASSERT(rec->fileDeletedAt.value_or(0) >= expires);
        CPPUNIT_ASSERT(rec->fileDeletedAt.value_or(0) < expires + 1000);
    }

    std::unique_ptr<TempDir> _dir;
    std::string _exports;
    std::unique_ptr<FileStore> _store;
};

CPPUNIT_TEST_SUITE_REGISTRATION(RegistryClockTest);
