#include "FakeRegistries.h"
#include "TestSupport.h"

#include "cleanup/CleanupScheduler.h"
#include "cleanup/ExpiryWatcher.h"

#include <Poco/Logger.h>
#include <cppunit/extensions/HelperMacros.h>

#include <memory>

using namespace exportd::cleanup;
using namespace exportd::cleanup::test;

/// Two processes on one registry file and one export directory: "a" makes the
/// exports (and, where a test says so, schedules their deletion as exportd
/// does when one becomes ready); "b" only watches, with an ExpiryWatcher.
class ExpiryWatcherTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ExpiryWatcherTest);
    CPPUNIT_TEST(testPollSchedulesExportsMadeByAnotherProcess);
    CPPUNIT_TEST(testSecondPollSchedulesNothingTwice);
    CPPUNIT_TEST(testPollCatchesUpPageByPage);
    CPPUNIT_TEST(testPollCatchesUpWhenAPageHoldsOneMillisecond);
    CPPUNIT_TEST(testLateCommitWithinTheOverlapIsSeen);
    CPPUNIT_TEST(testOwnersDeletionIsNotCountedAgain);
    CPPUNIT_TEST(testExportOfAGoneProcessIsDeletedAfterTheGrace);
    CPPUNIT_TEST(testOwnExportGetsNoGrace);
    CPPUNIT_TEST(testFailedReadKeepsTheCursorAndIsRetried);
    CPPUNIT_TEST(testStartLoadsEveryPendingExportAndRecoversFromFailures);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _dir = std::make_unique<TempDir>();
        _exports = makeExportsDir(*_dir);
        _store = openDirectoryStore(_exports);
        _logger = &Poco::Logger::get("exportd.cleanup.test");
        _logger->setLevel(Poco::Message::PRIO_FATAL); // the failure tests log on purpose
        _regA = std::make_unique<SqliteRegistry>(_dir->file("registry.db"));
        _regB = std::make_unique<FlakyPendingRegistry>(_dir->file("registry.db"));
        _metricsA = std::make_unique<Metrics>();
        _metricsB = std::make_unique<Metrics>();
        _schedulerB =
            std::make_unique<CleanupScheduler>(*_regB, *_metricsB, _clock, *_store, *_logger, UnlinkMode::Auto);
        makeWatcher(ExpiryWatcherOptions{});
    }

    void tearDown() override
    {
        _watcher.reset();
        _schedulerB.reset();
        _schedulerA.reset();
        _metricsA.reset();
        _metricsB.reset();
        _regB.reset();
        _regA.reset();
        _dir.reset();
    }

    void testPollSchedulesExportsMadeByAnotherProcess()
    {
        CPPUNIT_ASSERT_EQUAL(ExpiryWatcher::NO_CURSOR, _watcher->cursor());
        for (int i = 0; i < 3; ++i) makeReady(*_regA, testId("p" + std::to_string(i)), T0 + i, far());
        CPPUNIT_ASSERT_EQUAL(3, _watcher->pollOnce());
        CPPUNIT_ASSERT_EQUAL(std::int64_t(3), _schedulerB->pending());
        CPPUNIT_ASSERT_EQUAL(T0 + 2, _watcher->cursor());
    }

    void testSecondPollSchedulesNothingTwice()
    {
        for (int i = 0; i < 3; ++i) makeReady(*_regA, testId("d" + std::to_string(i)), T0 + i, far());
        CPPUNIT_ASSERT_EQUAL(3, _watcher->pollOnce());
        CPPUNIT_ASSERT_EQUAL(0, _watcher->pollOnce()); // the overlap reads them again
        makeReady(*_regA, testId("d3"), T0 + 3, far());
        CPPUNIT_ASSERT_EQUAL(1, _watcher->pollOnce());
        CPPUNIT_ASSERT_EQUAL(std::int64_t(4), _schedulerB->pending());
    }

    void testPollCatchesUpPageByPage()
    {
        ExpiryWatcherOptions options;
        options.pageSize = 3;
        makeWatcher(options);
        for (int i = 0; i < 10; ++i) makeReady(*_regA, testId("c" + std::to_string(i)), T0 + i, far());
        CPPUNIT_ASSERT_EQUAL(10, _watcher->pollOnce());
        CPPUNIT_ASSERT(_regB->calls >= 4);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(10), _schedulerB->pending());
        CPPUNIT_ASSERT_EQUAL(T0 + 9, _watcher->cursor());
    }

    void testPollCatchesUpWhenAPageHoldsOneMillisecond()
    {
        ExpiryWatcherOptions options;
        options.pageSize = 3;
        makeWatcher(options);
        for (int i = 0; i < 7; ++i) makeReady(*_regA, testId("m" + std::to_string(i)), T0, far());
        makeReady(*_regA, testId("m7"), T0 + 1, far());
        CPPUNIT_ASSERT_EQUAL(8, _watcher->pollOnce());
        CPPUNIT_ASSERT_EQUAL(std::int64_t(8), _schedulerB->pending());
    }

    // Verifies the overlap: an export whose ready_at is older than the newest
    // one seen (its process was slow to commit) is seen by the next read if
    // it is within overlapMs; older than that, it is the sweeper's.
    void testLateCommitWithinTheOverlapIsSeen()
    {
        makeReady(*_regA, testId("newest"), T0 + 10000, far());
        CPPUNIT_ASSERT_EQUAL(1, _watcher->pollOnce());
        makeReady(*_regA, testId("late"), T0 + 10000 - 1500, far());
        makeReady(*_regA, testId("toolate"), T0 + 10000 - 2500, far());
        CPPUNIT_ASSERT_EQUAL(1, _watcher->pollOnce());
        CPPUNIT_ASSERT_EQUAL(std::int64_t(2), _schedulerB->pending());
        CPPUNIT_ASSERT_EQUAL(T0 + 10000, _watcher->cursor());
    }

    // Verifies the usual case with several processes: the export's maker
    // deletes it at expires_at, the watcher's timer fires after the grace,
    // finds the file gone and the deletion recorded: counted once, by the maker.
    void testOwnersDeletionIsNotCountedAgain()
    {
        _schedulerA =
            std::make_unique<CleanupScheduler>(*_regA, *_metricsA, _clock, *_store, *_logger, UnlinkMode::Auto);
        const std::string id = newExportFile(_exports, "owned");
        const Millis expires = _clock.nowMs() + 300;
        makeReady(*_regA, id, _clock.nowMs(), expires);
        _schedulerA->schedule(id, expires);
        CPPUNIT_ASSERT_EQUAL(1, _watcher->pollOnce());
        CPPUNIT_ASSERT(waitFor([&] { return _schedulerB->pending() == 0; }));
        CPPUNIT_ASSERT_MESSAGE("the watcher's timer fired before the grace",
                               _clock.nowMs() >= expires + ExpiryWatcherOptions{}.othersGraceMs);
        CPPUNIT_ASSERT(waitFor([&] { return _schedulerA->pending() == 0; }));
        CPPUNIT_ASSERT(!exists(_exports + "/" + id));
        CPPUNIT_ASSERT_EQUAL(1.0, _metricsA->value("exportd_files_deleted_total", "reason=\"expired\""));
        CPPUNIT_ASSERT_EQUAL(0.0, _metricsB->value("exportd_files_deleted_total", "reason=\"expired\""));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), _metricsB->count("exportd_cleanup_lag_seconds"));
        CPPUNIT_ASSERT_EQUAL(0.0, _metricsB->value("exportd_cleanup_failures_total"));
        CPPUNIT_ASSERT_EQUAL(std::string("expired"), toString(_regA->find(id)->status));
        CPPUNIT_ASSERT_EQUAL(0, _watcher->pollOnce()); // recorded: no longer pending
    }

    // Verifies failover: the maker is gone (no scheduler of "a" runs), the
    // watcher deletes the file once the grace has passed, and records it.
    void testExportOfAGoneProcessIsDeletedAfterTheGrace()
    {
        const std::string id = newExportFile(_exports, "orphan");
        const Millis expires = _clock.nowMs() + 300;
        makeReady(*_regA, id, _clock.nowMs(), expires);
        CPPUNIT_ASSERT_EQUAL(1, _watcher->pollOnce());
        CPPUNIT_ASSERT(waitFor([&] { return _schedulerB->pending() == 0; }));
        const auto rec = _regA->find(id);
        CPPUNIT_ASSERT(!exists(_exports + "/" + id));
        CPPUNIT_ASSERT_EQUAL(std::string("expired"), toString(rec->status));
        const Millis lag = rec->fileDeletedAt.value_or(0) - expires;
        CPPUNIT_ASSERT_MESSAGE("lag " + std::to_string(lag), lag >= ExpiryWatcherOptions{}.othersGraceMs);
        CPPUNIT_ASSERT_EQUAL(1.0, _metricsB->value("exportd_files_deleted_total", "reason=\"expired\""));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), _metricsB->count("exportd_cleanup_lag_seconds"));
    }

    // A long grace tells the two timers apart: the watcher's own export (its
    // process scheduled it, e.g. before a restart of the watcher) goes at
    // expires_at, another's only after the grace.
    void testOwnExportGetsNoGrace()
    {
        ExpiryWatcherOptions options;
        options.othersGraceMs = 2000;
        makeWatcher(options);
        const std::string own = newExportFile(_exports, "own");
        const std::string other = newExportFile(_exports, "other");
        const Millis expires = _clock.nowMs() + 300;
        makeReady(*_regA, own, _clock.nowMs(), expires, "instance-b");
        makeReady(*_regA, other, _clock.nowMs(), expires, "instance-a");
        CPPUNIT_ASSERT_EQUAL(2, _watcher->pollOnce());
        CPPUNIT_ASSERT(waitFor([&] { return _schedulerB->pending() == 1; }));
        CPPUNIT_ASSERT(!exists(_exports + "/" + own));
        CPPUNIT_ASSERT_MESSAGE("the other's export went with no grace", exists(_exports + "/" + other));
        CPPUNIT_ASSERT(_regA->find(own)->fileDeletedAt.value_or(0) < expires + options.othersGraceMs);
        CPPUNIT_ASSERT(waitFor([&] { return _schedulerB->pending() == 0; }));
        CPPUNIT_ASSERT(_regA->find(other)->fileDeletedAt.value_or(0) >= expires + options.othersGraceMs);
    }

    void testFailedReadKeepsTheCursorAndIsRetried()
    {
        makeReady(*_regA, testId("before"), T0, far());
        CPPUNIT_ASSERT_EQUAL(1, _watcher->pollOnce());
        _regB->failing = true;
        makeReady(*_regA, testId("during"), T0 + 5000, far());
        CPPUNIT_ASSERT_THROW(_watcher->pollOnce(), RegistryError);
        CPPUNIT_ASSERT_EQUAL(T0, _watcher->cursor());
        _regB->failing = false;
        CPPUNIT_ASSERT_EQUAL(1, _watcher->pollOnce());
        CPPUNIT_ASSERT_EQUAL(T0 + 5000, _watcher->cursor());
        CPPUNIT_ASSERT_EQUAL(std::int64_t(2), _schedulerB->pending());
    }

    // Verifies start(): the first read loads every pending export (page by
    // page), and polls that fail are counted and retried until one succeeds.
    void testStartLoadsEveryPendingExportAndRecoversFromFailures()
    {
        ExpiryWatcherOptions options;
        options.pageSize = 16;
        options.pollIntervalMs = 20;
        makeWatcher(options);
        for (int i = 0; i < 50; ++i) makeReady(*_regA, testId("s" + std::to_string(i)), T0 + i, far());
        _regB->failing = true;
        _watcher->start();
        CPPUNIT_ASSERT(waitFor([&] { return _metricsB->value("exportd_expiry_watch_failures_total") >= 2; }));
        CPPUNIT_ASSERT_EQUAL(std::int64_t(0), _schedulerB->pending());
        _regB->failing = false;
        CPPUNIT_ASSERT(waitFor([&] { return _schedulerB->pending() == 50; }));
        makeReady(*_regA, testId("s50"), T0 + 50, far());
        CPPUNIT_ASSERT(waitFor([&] { return _schedulerB->pending() == 51; }));
        _watcher->stop();
    }

private:
    void makeWatcher(ExpiryWatcherOptions options)
    {
        options.instanceId = "instance-b";
        _watcher.reset();
        _watcher = std::make_unique<ExpiryWatcher>(*_regB, *_schedulerB, *_metricsB, options, *_logger);
    }

    Millis far() const { return _clock.nowMs() + 3600000; }

    static constexpr Millis T0 = 1764000000000; // ready_at of the exports that never fall due here
    SystemClock _clock;
    std::unique_ptr<TempDir> _dir;
    std::string _exports;
    std::unique_ptr<FileStore> _store; ///< outlives the schedulers (declared before them)
    Poco::Logger* _logger = nullptr;
    std::unique_ptr<SqliteRegistry> _regA;
    std::unique_ptr<FlakyPendingRegistry> _regB;
    std::unique_ptr<Metrics> _metricsA;
    std::unique_ptr<Metrics> _metricsB;
    std::unique_ptr<CleanupScheduler> _schedulerA;
    std::unique_ptr<CleanupScheduler> _schedulerB;
    std::unique_ptr<ExpiryWatcher> _watcher;
};

CPPUNIT_TEST_SUITE_REGISTRATION(ExpiryWatcherTest);
