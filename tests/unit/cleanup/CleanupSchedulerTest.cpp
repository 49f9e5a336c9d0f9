#include "CountingStore.h"
#include "TestSupport.h"

#include "cleanup/CleanupScheduler.h"

#include <Poco/Logger.h>
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <memory>
#include <random>
#include <sys/stat.h>

using namespace exportd::cleanup;
using namespace exportd::cleanup::test;

/// Runs with the unlinks on the timer thread; CleanupSchedulerRingTest below
/// runs every test again with them through io_uring.
class CleanupSchedulerTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CleanupSchedulerTest);
    CPPUNIT_TEST(testFileIsDeletedAtExpiryAndRecorded);
    CPPUNIT_TEST(testPastExpiryIsDeletedAtOnce);
    CPPUNIT_TEST(testMissingFileCountsAsDone);
    CPPUNIT_TEST(testManyTasksFireInExpiryOrderNeverEarly);
    CPPUNIT_TEST(testFailedDeleteIsRetriedUntilItSucceeds);
    CPPUNIT_TEST(testStopCancelsPendingDeletions);
    CPPUNIT_TEST(testStopRecordsEveryFileItDeleted);
    CPPUNIT_TEST(testSchedulingAgainKeepsOneTimerAndAnEarlierTimeWins);
    CPPUNIT_TEST(testDoneDeletionIsNotScheduledAgainUntilForgotten);
    CPPUNIT_TEST_SUITE_END();

public:
    virtual UnlinkMode mode() const { return UnlinkMode::OnTimerThread; }

    void setUp() override
    {
        _dir = std::make_unique<TempDir>();
        ::mkdir(_dir->file("exports").c_str(), 0750);
        _exports = _dir->file("exports");
        _reg = openRegistry("sqlite:" + _dir->file("registry.db"));
        _metrics = std::make_unique<Metrics>();
        Poco::Logger& logger = Poco::Logger::get("exportd.cleanup.test");
        logger.setLevel(Poco::Message::PRIO_ERROR); // the retry test warns on purpose
        _store = std::make_unique<CountingStore>(openDirectoryStore(_exports));
        _scheduler = std::make_unique<CleanupScheduler>(*_reg, *_metrics, _clock, *_store, logger, mode());
    }

    void tearDown() override
    {
        _scheduler.reset();
        _store.reset();
        _metrics.reset();
        _reg.reset();
        _dir.reset();
    }

    void testFileIsDeletedAtExpiryAndRecorded()
    {
        const std::string id = newFile("one");
        const Millis expires = _clock.nowMs() + 200;
        makeReady(*_reg, id, _clock.nowMs(), expires);
        _scheduler->schedule(id, expires);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(1), _scheduler->pending());
        CPPUNIT_ASSERT(exists(path(id)));
        CPPUNIT_ASSERT(waitFor([&] { return _scheduler->pending() == 0; }));
        CPPUNIT_ASSERT(_clock.nowMs() >= expires);
        CPPUNIT_ASSERT(!exists(path(id)));
        auto rec = _reg->find(id);
        CPPUNIT_ASSERT_EQUAL(std::string("expired"), toString(rec->status));
        CPPUNIT_ASSERT(rec->fileDeletedAt.value_or(0) >= expires);
        CPPUNIT_ASSERT_EQUAL(1.0, _metrics->value("exportd_files_deleted_total", "reason=\"expired\""));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), _metrics->count("exportd_cleanup_lag_seconds"));
        // The file went through the store: one removal, in a batch when the store has a remover.
        CPPUNIT_ASSERT_EQUAL(1, _store->removals());
        CPPUNIT_ASSERT_EQUAL(_scheduler->unlinksThroughRing() ? 1 : 0, _store->batchRemoves.load());
    }

    void testPastExpiryIsDeletedAtOnce()
    {
        const std::string id = newFile("past");
        const Millis expires = _clock.nowMs() - 60000;
        makeReady(*_reg, id, expires - 1000, expires);
        _scheduler->schedule(id, expires);
        CPPUNIT_ASSERT(waitFor([&] { return _scheduler->pending() == 0; }));
        CPPUNIT_ASSERT(!exists(path(id)));
        CPPUNIT_ASSERT(_metrics->render().find("exportd_cleanup_lag_seconds_bucket{le=\"30\"} 0\n")
                       != std::string::npos); // observed about 60 s late
    }

    void testMissingFileCountsAsDone()
    {
        const std::string id = testId("missing");
        const Millis expires = _clock.nowMs();
        makeReady(*_reg, id, expires, expires);
        _scheduler->schedule(id, expires);
        CPPUNIT_ASSERT(waitFor([&] { return _scheduler->pending() == 0; }));
        CPPUNIT_ASSERT_EQUAL(std::string("expired"), toString(_reg->find(id)->status));
        CPPUNIT_ASSERT_EQUAL(0.0, _metrics->value("exportd_cleanup_failures_total"));
    }

    // Verifies a loaded timer: 200 deletions spread over 400 ms, scheduled in
    // random order, all happen, none before its expiry, in expiry order (on the
    // timer thread), each recorded once. How late they are is printed, not
    // asserted: a test beside a build or under sanitizers measures the machine;
    // the lag targets are measured by bench/ (cleanup_bench, bench/README.md).
    void testManyTasksFireInExpiryOrderNeverEarly()
    {
        const int n = 200;
        std::vector<std::string> ids;
        for (int i = 0; i < n; ++i) {
            ids.push_back(newFile("many" + std::to_string(i)));
            makeReady(*_reg, ids.back(), _clock.nowMs(), _clock.nowMs() + 3600000);
        }
        // Times are taken once the records exist, so that none is due before
        // every task has been scheduled.
        const Millis base = _clock.nowMs() + 200;
        std::vector<std::pair<Millis, std::string>> tasks;
        for (int i = 0; i < n; ++i) tasks.emplace_back(base + i * 2, ids[i]);
        std::vector<std::pair<Millis, std::string>> shuffled = tasks;
        std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(42));
        for (const auto& [expires, id] : shuffled) _scheduler->schedule(id, expires);

        CPPUNIT_ASSERT(waitFor([&] { return _scheduler->pending() == 0; }, 30000));
        std::vector<Millis> lags;
        Millis previousDeletion = 0;
        for (const auto& [expires, id] : tasks) {
            CPPUNIT_ASSERT_MESSAGE(id, !exists(path(id)));
            auto rec = _reg->find(id);
            CPPUNIT_ASSERT_EQUAL(std::string("expired"), toString(rec->status));
            const Millis deleted = rec->fileDeletedAt.value_or(0);
            CPPUNIT_ASSERT_MESSAGE(id + " deleted early", deleted >= expires);
            // Unlinks started through io_uring may finish in another order
            // than they started; on the timer thread they cannot.
            if (!_scheduler->unlinksThroughRing())
                CPPUNIT_ASSERT_MESSAGE(id + " out of order", deleted >= previousDeletion);
            previousDeletion = deleted;
            lags.push_back(deleted - expires);
        }
        std::sort(lags.begin(), lags.end());
        const Millis p50 = lags[n / 2], p99 = lags[n * 99 / 100], max = lags.back();
        std::printf("\n  scheduler lag for %d tasks: p50 %lld ms, p99 %lld ms, max %lld ms\n", n,
                    static_cast<long long>(p50), static_cast<long long>(p99),
                    static_cast<long long>(max));
        CPPUNIT_ASSERT_EQUAL(double(n), _metrics->value("exportd_files_deleted_total", "reason=\"expired\""));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(n), _metrics->count("exportd_cleanup_lag_seconds"));
    }

    // Verifies the backoff: a path that unlink refuses (a non-empty directory named
    // like the id: EISDIR, which even root gets) is retried until it can go.
    void testFailedDeleteIsRetriedUntilItSucceeds()
    {
        const std::string id = testId("stuck");
        CPPUNIT_ASSERT_EQUAL(0, ::mkdir(path(id).c_str(), 0750));
        writeFile(path(id) + "/inside");
        const Millis expires = _clock.nowMs();
        makeReady(*_reg, id, expires, expires);
        _scheduler->schedule(id, expires);

        CPPUNIT_ASSERT(waitFor([&] { return _metrics->value("exportd_cleanup_failures_total") >= 2; }));
        CPPUNIT_ASSERT_EQUAL(std::int64_t(1), _scheduler->pending());
        CPPUNIT_ASSERT_EQUAL(std::string("ready"), toString(_reg->find(id)->status));

        ::unlink((path(id) + "/inside").c_str());
        ::rmdir(path(id).c_str());
        CPPUNIT_ASSERT(waitFor([&] { return _scheduler->pending() == 0; }));
        CPPUNIT_ASSERT_EQUAL(std::string("expired"), toString(_reg->find(id)->status));
        CPPUNIT_ASSERT_EQUAL(1.0, _metrics->value("exportd_files_deleted_total", "reason=\"expired\""));
    }

    void testStopCancelsPendingDeletions()
    {
        const std::string id = newFile("stopped");
        const Millis expires = _clock.nowMs() + 500;
        makeReady(*_reg, id, _clock.nowMs(), expires);
        _scheduler->schedule(id, expires);
        _scheduler->stop();
        _scheduler->stop(); // idempotent
        // The test means something only if stop() came before the expiry (a
        // stall of 500 ms between two calls would make it inconclusive, not
        // wrong); then nothing may happen until well after the expiry.
        CPPUNIT_ASSERT_MESSAGE("stop() returned after the expiry: inconclusive", _clock.nowMs() < expires);
        std::this_thread::sleep_until(std::chrono::system_clock::time_point(std::chrono::milliseconds(expires + 200)));
        CPPUNIT_ASSERT(exists(path(id)));
        CPPUNIT_ASSERT_EQUAL(std::string("ready"), toString(_reg->find(id)->status));
        _scheduler->schedule(id, expires); // ignored once stopped
    }

    // stop() in the middle of a burst: every file is either still there with its
    // record ready, or gone with its record expired; none is gone unrecorded
    // (unlinks in flight are waited for), and nothing runs after stop().
    void testStopRecordsEveryFileItDeleted()
    {
        const int n = 2000;
        std::vector<std::string> ids;
        for (int i = 0; i < n; ++i) {
            ids.push_back(newFile("burst" + std::to_string(i)));
            makeReady(*_reg, ids.back(), _clock.nowMs(), _clock.nowMs() + 3600000);
        }
        // Due one a millisecond from 100 ms on; stopped once about a tenth
        // has gone (polled, not slept for: under load the timer runs late),
        // which leaves the rest of the two seconds as the margin before all
        // would be done.
        const Millis base = _clock.nowMs() + 100;
        for (int i = 0; i < n; ++i) _scheduler->schedule(ids[i], base + i);
        CPPUNIT_ASSERT(waitFor([&] { return _scheduler->pending() <= n - n / 10; }, 30000));
        const std::int64_t pendingAtStop = _scheduler->pending();
        _scheduler->stop();
        int gone = 0;
        for (const auto& id : ids) {
            const bool present = exists(path(id));
            const std::string status = toString(_reg->find(id)->status);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(id, std::string(present ? "ready" : "expired"), status);
            gone += present ? 0 : 1;
        }
        CPPUNIT_ASSERT(gone > 0 && gone < n);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        for (const auto& id : ids)
            CPPUNIT_ASSERT_EQUAL(std::string(exists(path(id)) ? "ready" : "expired"), toString(_reg->find(id)->status));
        std::printf("\n  stop() with %lld of %d deletions pending: %d files gone, all recorded\n",
                    static_cast<long long>(pendingAtStop), n, gone);
    }

    // Verifies one timer per export: the maker, the sweeper and the watcher
    // may each schedule it; a later time changes nothing, an earlier one
    // moves the timer, and the deletion happens (and counts) once.
    void testSchedulingAgainKeepsOneTimerAndAnEarlierTimeWins()
    {
        const std::string id = newFile("twice");
        const Millis expires = _clock.nowMs() + 300;
        makeReady(*_reg, id, _clock.nowMs(), expires);
        CPPUNIT_ASSERT(_scheduler->schedule(id, expires, 5000));
        CPPUNIT_ASSERT(!_scheduler->schedule(id, expires, 5000));
        CPPUNIT_ASSERT(!_scheduler->schedule(id, expires, 6000));
        CPPUNIT_ASSERT_EQUAL(std::int64_t(1), _scheduler->pending());
        CPPUNIT_ASSERT(_scheduler->schedule(id, expires));
        CPPUNIT_ASSERT_EQUAL(std::int64_t(1), _scheduler->pending());
        CPPUNIT_ASSERT(waitFor([&] { return _scheduler->pending() == 0; }));
        const Millis deleted = _reg->find(id)->fileDeletedAt.value_or(0);
        CPPUNIT_ASSERT(deleted >= expires);
        CPPUNIT_ASSERT_MESSAGE("the earlier time did not win", deleted < expires + 5000);
        CPPUNIT_ASSERT_EQUAL(1.0, _metrics->value("exportd_files_deleted_total", "reason=\"expired\""));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), _metrics->count("exportd_cleanup_lag_seconds"));
    }

    // Verifies the watcher's marks: once a reader of the registry takes
    // marks, a deletion done stays known (a read that began before it was
    // recorded may still list the export) until a mark taken after it is
    // forgotten; then scheduling it again sets a new timer (harmless: the
    // file is gone and the registry says so).
    void testDoneDeletionIsNotScheduledAgainUntilForgotten()
    {
        const std::string id = newFile("done");
        const Millis expires = _clock.nowMs();
        makeReady(*_reg, id, expires, expires);
        const std::uint64_t before = _scheduler->watchMark();
        CPPUNIT_ASSERT(_scheduler->schedule(id, expires));
        CPPUNIT_ASSERT(waitFor([&] { return _scheduler->pending() == 0; }));
        CPPUNIT_ASSERT(!_scheduler->schedule(id, expires));
        _scheduler->forgetFinished(before);
        CPPUNIT_ASSERT(!_scheduler->schedule(id, expires));
        CPPUNIT_ASSERT_EQUAL(std::int64_t(0), _scheduler->pending());
        _scheduler->forgetFinished(_scheduler->watchMark());
        CPPUNIT_ASSERT(_scheduler->schedule(id, expires));
        CPPUNIT_ASSERT(waitFor([&] { return _scheduler->pending() == 0; }));
        CPPUNIT_ASSERT_EQUAL(1.0, _metrics->value("exportd_files_deleted_total", "reason=\"expired\""));
    }

protected:
    std::string path(const std::string& id) const { return _exports + "/" + id; }

    std::string newFile(const std::string& tag) { return newExportFile(_exports, tag); }

    SystemClock _clock;
    std::unique_ptr<TempDir> _dir;
    std::string _exports;
    std::unique_ptr<Registry> _reg;
    std::unique_ptr<Metrics> _metrics;
    std::unique_ptr<CountingStore> _store;
    std::unique_ptr<CleanupScheduler> _scheduler;
};

/// The same tests with the removals through the directory store's batch
/// remover, io_uring (UnlinkMode::Auto), and that Auto does use it wherever
/// the kernel gives one.
class CleanupSchedulerRingTest : public CleanupSchedulerTest {
    CPPUNIT_TEST_SUB_SUITE(CleanupSchedulerRingTest, CleanupSchedulerTest);
    CPPUNIT_TEST(testAutoUsesTheRingWhenTheKernelHasOne);
    CPPUNIT_TEST_SUITE_END();

public:
    UnlinkMode mode() const override { return UnlinkMode::Auto; }

    void testAutoUsesTheRingWhenTheKernelHasOne()
    {
        std::string why;
        const bool kernelHasRing = openDirectoryStore(_exports)->openBatchRemover(4, 1, why) != nullptr;
        if (!kernelHasRing)
            std::printf("\n  io_uring unavailable here (%s): the tests above ran the fallback\n", why.c_str());
        CPPUNIT_ASSERT_EQUAL(kernelHasRing, _scheduler->unlinksThroughRing());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CleanupSchedulerTest);
CPPUNIT_TEST_SUITE_REGISTRATION(CleanupSchedulerRingTest);
