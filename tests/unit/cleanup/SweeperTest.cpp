#include "CountingStore.h"
#include "TestSupport.h"

#include "cleanup/Sweeper.h"

#include <Poco/Logger.h>
#include <cppunit/extensions/HelperMacros.h>

#include <memory>
#include <sys/stat.h>
#include <unistd.h>

using namespace exportd::cleanup;
using namespace exportd::cleanup::test;

class SweeperTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SweeperTest);
    CPPUNIT_TEST(testSweepDeletesOverdueFileAndRecordsIt);
    CPPUNIT_TEST(testSweepKeepsReadyFileNotYetDue);
    CPPUNIT_TEST(testSweepDeletesOrphanFile);
    CPPUNIT_TEST(testSweepLeavesForeignNamesAlone);
    CPPUNIT_TEST(testSweepLeavesWellFormedButNotMintedNamesAlone);
    CPPUNIT_TEST(testSweepNeverDeletesOrFollowsSymlinks);
    CPPUNIT_TEST(testSweepSkipsDirectoryWithMintedName);
    CPPUNIT_TEST(testSweepSkipsFifoWithMintedName);
    CPPUNIT_TEST(testSweepDeletesPartOfDeadJob);
    CPPUNIT_TEST(testSweepKeepsPartOfLiveJob);
    CPPUNIT_TEST(testSweepKeepsFinalFileOfJobAboutToBeReady);
    CPPUNIT_TEST(testSweepDeletesFileOfFinishedExport);
    CPPUNIT_TEST(testSweepMarksJobsOfDeadProcessesInterrupted);
    CPPUNIT_TEST(testSweepReschedulesReadyExportsOfDeadProcesses);
    CPPUNIT_TEST(testSweepPurgesOldRecordsAndRenewsLease);
    CPPUNIT_TEST(testStartSweepsAtOnceAndThenPeriodically);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _dir = std::make_unique<TempDir>();
        _exports = _dir->file("exports");
        ::mkdir(_exports.c_str(), 0750);
        _reg = openRegistry("sqlite:" + _dir->file("registry.db"));
        _metrics = std::make_unique<Metrics>();
        _clock = std::make_unique<ManualClock>(SystemClock().nowMs());
        Poco::Logger& logger = Poco::Logger::get("exportd.sweeper.test");
        logger.setLevel(Poco::Message::PRIO_ERROR);
        _store = std::make_unique<CountingStore>(openDirectoryStore(_exports));
        _scheduler = std::make_unique<CleanupScheduler>(*_reg, *_metrics, *_clock, *_store, logger);
        SweeperOptions options;
        options.instanceId = SELF;
        options.sweepIntervalMs = 100;
        options.heartbeatIntervalMs = 50;
        options.leaseMs = LEASE;
        options.registryKeepMs = KEEP;
        _sweeper = std::make_unique<Sweeper>(*_reg, *_scheduler, *_store, *_metrics, *_clock, options, logger);
    }

    void tearDown() override
    {
        _sweeper.reset();
        _scheduler.reset();
        _store.reset();
        _reg.reset();
        _dir.reset();
    }

    void testSweepDeletesOverdueFileAndRecordsIt()
    {
        const std::string id = newFile("overdue");
        makeReady(*_reg, id, now() - 2000, now() - 1000, "crashed");
        const SweepReport report = _sweeper->sweepOnce();
        CPPUNIT_ASSERT_EQUAL(1, report.overdueDeleted);
        CPPUNIT_ASSERT(!exists(path(id)));
        auto rec = _reg->find(id);
        CPPUNIT_ASSERT_EQUAL(std::string("expired"), toString(rec->status));
        CPPUNIT_ASSERT_EQUAL(now(), rec->fileDeletedAt.value_or(0));
        CPPUNIT_ASSERT_EQUAL(1.0, _metrics->value("exportd_files_deleted_total", "reason=\"sweep\""));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), _metrics->count("exportd_cleanup_lag_seconds"));
        CPPUNIT_ASSERT_EQUAL(0, _sweeper->sweepOnce().overdueDeleted);
    }

    void testSweepKeepsReadyFileNotYetDue()
    {
        const std::string id = newFile("notdue");
        makeReady(*_reg, id, now(), now() + 60000, SELF);
        const SweepReport report = _sweeper->sweepOnce();
        CPPUNIT_ASSERT(exists(path(id)));
        CPPUNIT_ASSERT_EQUAL(0, report.overdueDeleted + report.orphansDeleted + report.staleDeleted);
        CPPUNIT_ASSERT_EQUAL(0, report.rescheduled); // this process already has its timer
        CPPUNIT_ASSERT_EQUAL(std::string("ready"), toString(_reg->find(id)->status));
    }

    void testSweepDeletesOrphanFile()
    {
        const std::string id = newFile("orphan");
        const SweepReport report = _sweeper->sweepOnce();
        CPPUNIT_ASSERT_EQUAL(1, report.orphansDeleted);
        CPPUNIT_ASSERT(!exists(path(id)));
        CPPUNIT_ASSERT_EQUAL(1.0, _metrics->value("exportd_files_deleted_total", "reason=\"orphan\""));
        // Found and deleted through the store, not behind its back.
        CPPUNIT_ASSERT_EQUAL(1, _store->lists.load());
        CPPUNIT_ASSERT_EQUAL(1, _store->removes.load());
    }

    // Verifies that only exportd's own names (an id, optionally .part) are touched.
    void testSweepLeavesForeignNamesAlone()
    {
        const std::vector<std::string> foreign = {
            "notes.txt", "README", "short-name", testId("tmpfile") + ".tmp",
            testId("partial") + ".part.bak", std::string(33, 'a'), ".hidden" + testId("h"),
            testId("x").substr(0, 21)};
        for (const auto& name : foreign) writeFile(path(name));
        ::mkdir(path("subdir").c_str(), 0750);
        const SweepReport report = _sweeper->sweepOnce();
        for (const auto& name : foreign) CPPUNIT_ASSERT_MESSAGE(name, exists(path(name)));
        CPPUNIT_ASSERT(exists(path("subdir")));
        CPPUNIT_ASSERT_EQUAL(0, report.orphansDeleted + report.partsDeleted + report.errors);
    }

    // Verifies that a name which passes the HTTP API's 22-32 character rule but is
    // not what newExportId() mints (someone's "Quarterly_Report_2026_v2") is kept.
    void testSweepLeavesWellFormedButNotMintedNamesAlone()
    {
        const std::vector<std::string> foreign = {
            "Quarterly_Report_2026_v2", "Quarterly_Report_2026_v2.part",
            std::string(21, 'a') + "x",                       // 22, last character not A Q g w
            std::string(21, 'a') + "B.part", std::string(23, 'A'), std::string(32, 'A')};
        for (const auto& name : foreign) writeFile(path(name));
        const SweepReport report = _sweeper->sweepOnce();
        for (const auto& name : foreign) CPPUNIT_ASSERT_MESSAGE(name, exists(path(name)));
        CPPUNIT_ASSERT_EQUAL(0, report.orphansDeleted + report.partsDeleted + report.errors);
    }

    // Verifies that a symlink with a minted name is neither deleted nor followed:
    // both the link and the file it points to (outside exports_dir) survive.
    void testSweepNeverDeletesOrFollowsSymlinks()
    {
        const std::string target = _dir->file("outside.txt");
        writeFile(target, "precious");
        const std::string link = testId("symlink"), partLink = testId("symlinkpart") + ".part";
        CPPUNIT_ASSERT_EQUAL(0, ::symlink(target.c_str(), path(link).c_str()));
        CPPUNIT_ASSERT_EQUAL(0, ::symlink(target.c_str(), path(partLink).c_str()));
        const SweepReport report = _sweeper->sweepOnce();
        struct stat st {};
        CPPUNIT_ASSERT_EQUAL(0, ::lstat(path(link).c_str(), &st));
        CPPUNIT_ASSERT(S_ISLNK(st.st_mode));
        CPPUNIT_ASSERT_EQUAL(0, ::lstat(path(partLink).c_str(), &st));
        CPPUNIT_ASSERT(S_ISLNK(st.st_mode));
        CPPUNIT_ASSERT_EQUAL(0, ::lstat(target.c_str(), &st));
        CPPUNIT_ASSERT(S_ISREG(st.st_mode));
        CPPUNIT_ASSERT_EQUAL(std::int64_t(8), static_cast<std::int64_t>(st.st_size));
        CPPUNIT_ASSERT_EQUAL(0, report.orphansDeleted + report.partsDeleted + report.errors);
    }

    // Verifies that a directory with a minted name is skipped without an error
    // (it used to fail unlink() with EISDIR and count an error every sweep).
    void testSweepSkipsDirectoryWithMintedName()
    {
        const std::string dir = testId("directory");
        CPPUNIT_ASSERT_EQUAL(0, ::mkdir(path(dir).c_str(), 0750));
        CPPUNIT_ASSERT_EQUAL(0, ::mkdir(path(dir + ".part").c_str(), 0750));
        for (int i = 0; i < 2; ++i) {
            const SweepReport report = _sweeper->sweepOnce();
            CPPUNIT_ASSERT_EQUAL(0, report.orphansDeleted + report.partsDeleted + report.errors);
        }
        CPPUNIT_ASSERT(exists(path(dir)) && exists(path(dir + ".part")));
        CPPUNIT_ASSERT_EQUAL(0.0, _metrics->value("exportd_cleanup_failures_total"));
    }

    void testSweepSkipsFifoWithMintedName()
    {
        const std::string fifo = testId("fifo");
        CPPUNIT_ASSERT_EQUAL(0, ::mkfifo(path(fifo).c_str(), 0640));
        const SweepReport report = _sweeper->sweepOnce();
        struct stat st {};
        CPPUNIT_ASSERT_EQUAL(0, ::lstat(path(fifo).c_str(), &st));
        CPPUNIT_ASSERT(S_ISFIFO(st.st_mode));
        CPPUNIT_ASSERT_EQUAL(0, report.orphansDeleted + report.errors);
    }

    void testSweepDeletesPartOfDeadJob()
    {
        const std::string dead = testId("deadjob"), unknown = testId("unknownjob");
        _reg->heartbeat("crashed", now() - LEASE - 1);
        _reg->create(queuedRecord(dead, now(), "alice", "crashed"), 0);
        _reg->markRunning(dead, "crashed", now());
        writeFile(path(dead + ".part"));
        writeFile(path(unknown + ".part"));
        const SweepReport report = _sweeper->sweepOnce();
        CPPUNIT_ASSERT_EQUAL(2, report.partsDeleted);
        CPPUNIT_ASSERT(!exists(path(dead + ".part")));
        CPPUNIT_ASSERT(!exists(path(unknown + ".part")));
    }

    void testSweepKeepsPartOfLiveJob()
    {
        const std::string local = testId("localjob"), remote = testId("remotejob");
        // Running here: no record needed, the local check says so.
        _sweeper->setLocalJobCheck([&](const std::string& id) { return id == local; });
        writeFile(path(local + ".part"));
        _reg->heartbeat("other-live", now());
        _reg->create(queuedRecord(remote, now(), "bob", "other-live"), 0);
        _reg->markRunning(remote, "other-live", now());
        writeFile(path(remote + ".part"));
        const SweepReport report = _sweeper->sweepOnce();
        CPPUNIT_ASSERT_EQUAL(0, report.partsDeleted);
        CPPUNIT_ASSERT(exists(path(local + ".part")));
        CPPUNIT_ASSERT(exists(path(remote + ".part")));
    }

    // Verifies that a job between its rename and markReady keeps its file.
    void testSweepKeepsFinalFileOfJobAboutToBeReady()
    {
        const std::string id = newFile("renamed");
        _reg->create(queuedRecord(id, now(), "alice", SELF), 0);
        _reg->markRunning(id, SELF, now());
        _sweeper->sweepOnce();
        CPPUNIT_ASSERT(exists(path(id)));
    }

    void testSweepDeletesFileOfFinishedExport()
    {
        const std::string deleted = newFile("wasdeleted"), failed = newFile("wasfailed");
        makeReady(*_reg, deleted, now(), now() + 60000, SELF);
        _reg->markDeleted(deleted, now());
        _reg->create(queuedRecord(failed, now(), "bob", SELF), 0);
        _reg->markFailed(failed, "disk_full", "full", now());
        const SweepReport report = _sweeper->sweepOnce();
        CPPUNIT_ASSERT_EQUAL(2, report.staleDeleted);
        CPPUNIT_ASSERT(!exists(path(deleted)) && !exists(path(failed)));
        CPPUNIT_ASSERT(_reg->find(deleted)->fileDeletedAt.has_value());
        CPPUNIT_ASSERT_EQUAL(2.0, _metrics->value("exportd_files_deleted_total", "reason=\"sweep\""));
    }

    void testSweepMarksJobsOfDeadProcessesInterrupted()
    {
        _reg->heartbeat("crashed", now() - LEASE - 1);
        _reg->heartbeat("alive", now());
        _reg->create(queuedRecord(testId("q1"), now(), "a", "crashed"), 0);
        _reg->create(queuedRecord(testId("q2"), now(), "b", "alive"), 0);
        _reg->create(queuedRecord(testId("q3"), now(), "c", SELF), 0);
        const SweepReport report = _sweeper->sweepOnce();
        CPPUNIT_ASSERT_EQUAL(1, report.interrupted);
        CPPUNIT_ASSERT_EQUAL(std::string("interrupted"), _reg->find(testId("q1"))->errorCode);
        CPPUNIT_ASSERT_EQUAL(std::string("queued"), toString(_reg->find(testId("q2"))->status));
        CPPUNIT_ASSERT_EQUAL(std::string("queued"), toString(_reg->find(testId("q3"))->status));
        CPPUNIT_ASSERT_EQUAL(1.0, _metrics->value("exportd_exports_failed_total", "code=\"interrupted\""));
    }

    // Verifies that a ready export whose timer died with its process gets a timer
    // here, which then deletes the file at expiry (the real timer, real time).
    void testSweepReschedulesReadyExportsOfDeadProcesses()
    {
        const std::string id = newFile("orphantimer");
        const Millis expires = SystemClock().nowMs() + 200;
        makeReady(*_reg, id, now(), expires, "crashed");
        const SweepReport report = _sweeper->sweepOnce();
        CPPUNIT_ASSERT_EQUAL(1, report.rescheduled);
        CPPUNIT_ASSERT_EQUAL(std::string(SELF), _reg->find(id)->scheduledBy);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(1), _scheduler->pending());
        CPPUNIT_ASSERT_EQUAL(0, _sweeper->sweepOnce().rescheduled);
        CPPUNIT_ASSERT(waitFor([&] { return _scheduler->pending() == 0; }));
        CPPUNIT_ASSERT(!exists(path(id)));
        CPPUNIT_ASSERT_EQUAL(std::string("expired"), toString(_reg->find(id)->status));
    }

    void testSweepPurgesOldRecordsAndRenewsLease()
    {
        const std::string old = testId("oldfailed");
        _reg->create(queuedRecord(old, now() - KEEP - 10, "a", SELF), 0);
        _reg->markFailed(old, "disk_full", "full", now() - KEEP - 5);
        const SweepReport report = _sweeper->sweepOnce();
        CPPUNIT_ASSERT_EQUAL(1, report.purged);
        CPPUNIT_ASSERT(!_reg->find(old));
        const auto live = _reg->liveInstances(now(), LEASE);
        CPPUNIT_ASSERT(std::find(live.begin(), live.end(), SELF) != live.end());
        CPPUNIT_ASSERT_EQUAL(now() / 1000.0,
                             _metrics->value("exportd_last_sweep_timestamp_seconds"));
    }

    void testStartSweepsAtOnceAndThenPeriodically()
    {
        const std::string first = newFile("first");
        _sweeper->start();
        CPPUNIT_ASSERT(waitFor([&] { return !exists(path(first)); }));
        const std::string second = newFile("second");
        CPPUNIT_ASSERT(waitFor([&] { return !exists(path(second)); }));
        // The heartbeat task keeps the lease fresh as the clock moves.
        _clock->advance(LEASE / 2);
        CPPUNIT_ASSERT(waitFor([&] {
            const auto live = _reg->liveInstances(now() - LEASE / 2 + 1, 1);
            return !live.empty();
        }));
        _sweeper->stop();
    }

private:
    static constexpr const char* SELF = "self-instance";
    static constexpr Millis LEASE = 10000;
    static constexpr Millis KEEP = 3600000;

    Millis now() const { return _clock->nowMs(); }
    std::string path(const std::string& name) const { return _exports + "/" + name; }

    std::string newFile(const std::string& tag) { return newExportFile(_exports, tag); }

    std::unique_ptr<TempDir> _dir;
    std::string _exports;
    std::unique_ptr<Registry> _reg;
    std::unique_ptr<Metrics> _metrics;
    std::unique_ptr<ManualClock> _clock;
    std::unique_ptr<CountingStore> _store;
    std::unique_ptr<CleanupScheduler> _scheduler;
    std::unique_ptr<Sweeper> _sweeper;
};

CPPUNIT_TEST_SUITE_REGISTRATION(SweeperTest);
