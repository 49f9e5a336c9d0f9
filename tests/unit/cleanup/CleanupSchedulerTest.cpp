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

class CleanupSchedulerTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CleanupSchedulerTest);
    CPPUNIT_TEST(testFileIsDeletedAtExpiryAndRecorded);
    CPPUNIT_TEST(testPastExpiryIsDeletedAtOnce);
    CPPUNIT_TEST(testMissingFileCountsAsDone);
    CPPUNIT_TEST(testManyTasksFireInExpiryOrderWithSmallLag);
    CPPUNIT_TEST(testFailedDeleteIsRetriedUntilItSucceeds);
    CPPUNIT_TEST(testStopCancelsPendingDeletions);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _dir = std::make_unique<TempDir>();
        ::mkdir(_dir->file("exports").c_str(), 0750);
        _exports = _dir->file("exports");
        _reg = openRegistry("sqlite:" + _dir->file("registry.db"));
        _metrics = std::make_unique<Metrics>();
        Poco::Logger& logger = Poco::Logger::get("exportd.cleanup.test");
        logger.setLevel(Poco::Message::PRIO_ERROR); // the retry test warns on purpose
        _scheduler = std::make_unique<CleanupScheduler>(*_reg, *_metrics, _clock, _exports, logger);
    }

    void tearDown() override
    {
        _scheduler.reset();
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
    }

    void testPastExpiryIsDeletedAtOnce()
    {
        const std::string id = newFile("past");
        const Millis expires = _clock.nowMs() - 60000;
        makeReady(*_reg, id, expires - 1000, expires);
        _scheduler->schedule(id, expires);
        CPPUNIT_ASSERT(waitFor([&] { return _scheduler->pending() == 0; }, 2000));
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
        CPPUNIT_ASSERT(waitFor([&] { return _scheduler->pending() == 0; }, 2000));
        CPPUNIT_ASSERT_EQUAL(std::string("expired"), toString(_reg->find(id)->status));
        CPPUNIT_ASSERT_EQUAL(0.0, _metrics->value("exportd_cleanup_failures_total"));
    }

    // Verifies the promise of SPEC 4 on a loaded timer: 200 deletions spread over
    // 400 ms, scheduled in random order, all happen in expiry order and on time.
    void testManyTasksFireInExpiryOrderWithSmallLag()
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

        CPPUNIT_ASSERT(waitFor([&] { return _scheduler->pending() == 0; }, 10000));
        std::vector<Millis> lags;
        Millis previousDeletion = 0;
        for (const auto& [expires, id] : tasks) {
            CPPUNIT_ASSERT_MESSAGE(id, !exists(path(id)));
            auto rec = _reg->find(id);
            CPPUNIT_ASSERT_EQUAL(std::string("expired"), toString(rec->status));
            const Millis deleted = rec->fileDeletedAt.value_or(0);
            CPPUNIT_ASSERT_MESSAGE(id + " deleted early", deleted >= expires);
            CPPUNIT_ASSERT_MESSAGE(id + " out of order", deleted >= previousDeletion);
            previousDeletion = deleted;
            lags.push_back(deleted - expires);
        }
        std::sort(lags.begin(), lags.end());
        const Millis p50 = lags[n / 2], p99 = lags[n * 99 / 100], max = lags.back();
        std::printf("\n  scheduler lag for %d tasks: p50 %lld ms, p99 %lld ms, max %lld ms\n", n,
                    static_cast<long long>(p50), static_cast<long long>(p99),
                    static_cast<long long>(max));
        CPPUNIT_ASSERT(p99 < 200);
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
        const Millis expires = _clock.nowMs() + 100;
        makeReady(*_reg, id, _clock.nowMs(), expires);
        _scheduler->schedule(id, expires);
        _scheduler->stop();
        _scheduler->stop(); // idempotent
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        CPPUNIT_ASSERT(exists(path(id)));
        CPPUNIT_ASSERT_EQUAL(std::string("ready"), toString(_reg->find(id)->status));
        _scheduler->schedule(id, expires); // ignored once stopped
    }

private:
    std::string path(const std::string& id) const { return _exports + "/" + id; }

    std::string newFile(const std::string& tag) { return newExportFile(_exports, tag); }

    SystemClock _clock;
    std::unique_ptr<TempDir> _dir;
    std::string _exports;
    std::unique_ptr<Registry> _reg;
    std::unique_ptr<Metrics> _metrics;
    std::unique_ptr<CleanupScheduler> _scheduler;
};

CPPUNIT_TEST_SUITE_REGISTRATION(CleanupSchedulerTest);
