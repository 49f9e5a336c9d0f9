#pragma once

// Over 400 lines on purpose: the one contract every Registry implementation
// keeps (its every transition, race and limit), written once and run on each
// backend: RegistryTest (SQLite) and postgresql/RegistryPgTest (PostgreSQL)
// derive from it and say how to make a fresh registry.
#include "TestSupport.h"

#include "cleanup/Clock.h"
#include "cleanup/Registry.h"

#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <memory>
#include <set>
#include <thread>

namespace exportd::cleanup::test {

class RegistryContract : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RegistryContract);
    CPPUNIT_TEST(testCreateStoresEveryField);
    CPPUNIT_TEST(testFindOfUnknownIdReturnsNothing);
    CPPUNIT_TEST(testCreateOfSameActiveRequestReturnsExisting);
    CPPUNIT_TEST(testCreateBeyondLimitIsTooManyAndInsertsNothing);
    CPPUNIT_TEST(testCreateAfterJobFinishedCountsNoMore);
    CPPUNIT_TEST(testListByListKeyIsNewestFirstAndLimited);
    CPPUNIT_TEST(testVisitListSeesWhatListByListKeyReturns);
    CPPUNIT_TEST(testMarkRunningAppliesOnlyToQueued);
    CPPUNIT_TEST(testUpdateProgressAppliesOnlyWhileRunning);
    CPPUNIT_TEST(testMarkReadyAppliesOnlyToRunning);
    CPPUNIT_TEST(testMarkFailedAppliesOnlyToQueuedOrRunning);
    CPPUNIT_TEST(testMarkDeletedAppliesUntilExpiry);
    CPPUNIT_TEST(testMarkFileDeletedExpiresReadyOnce);
    CPPUNIT_TEST(testMarkFileDeletedRecordsBytesOfDeletedExport);
    CPPUNIT_TEST(testMarkFilesDeletedAppliesEachOnceInOneBatch);
    CPPUNIT_TEST(testOverlappingBatchesFromTwoProcessesApplyEachOnce);
    CPPUNIT_TEST(testAuthorizeDownloadRefusedAtAndAfterExpiry);
    CPPUNIT_TEST(testClaimByTwoProcessesAppliesOnce);
    CPPUNIT_TEST(testCreateByTwoProcessesRespectsLimit);
    CPPUNIT_TEST(testFailInterruptedRespectsLiveLeases);
    CPPUNIT_TEST(testClaimUnscheduledGivesEachRecordToOneInstance);
    CPPUNIT_TEST(testPurgeRemovesOnlyOldFinishedRecords);
    CPPUNIT_TEST(testPendingCleanupsAndOldestOverdueSeeOnlyReady);
    CPPUNIT_TEST(testSameRequestOfAnotherListIsCreatedNotMerged);
    CPPUNIT_TEST(testSameRequestOfSameListStillMerges);
    CPPUNIT_TEST(testCreationBeyondRateIsTooFastWithRetryAfter);
    CPPUNIT_TEST(testCreationRateCountsFinishedExportsToo);
    CPPUNIT_TEST(testBytesHeldCountsOnlyFilesStillPresent);
    CPPUNIT_TEST(testSharedSecretKeepsTheFirstCandidate);
    CPPUNIT_TEST(testCheckDownloadDecidesWithoutCounting);
    CPPUNIT_TEST(testSameRequestFromTwoProcessesCreatesOnce);
    CPPUNIT_TEST(testRegistryWorksFromManyThreads);
    CPPUNIT_TEST(testPendingSinceListsReadyFilesStillPresent);
    CPPUNIT_TEST(testRegistryNowIsNearTheSystemClock);
    CPPUNIT_TEST_SUITE_END_ABSTRACT();

public:
    void setUp() override
    {
        _uri = newRegistryUri();
        _reg = openRegistry(_uri);
    }

    void tearDown() override
    {
        _reg.reset();
        dropRegistry();
    }

    void testCreateStoresEveryField()
    {
        ExportRecord r = queuedRecord(testId("full"), T0);
        r.ownerKey = "bob";
        r.listKey = "cookie-1";
        r.limitKey = "bob";
        r.rowsTotal = 42;
        auto res = _reg->create(r, 3);
        CPPUNIT_ASSERT(res.outcome == CreateOutcome::Created);
        auto got = _reg->find(r.id);
        CPPUNIT_ASSERT(got.has_value());
        CPPUNIT_ASSERT_EQUAL(r.ownerKey, got->ownerKey);
        CPPUNIT_ASSERT_EQUAL(r.listKey, got->listKey);
        CPPUNIT_ASSERT_EQUAL(r.requestKey, got->requestKey);
        CPPUNIT_ASSERT_EQUAL(r.filtersJson, got->filtersJson);
        CPPUNIT_ASSERT_EQUAL(std::string("queued"), toString(got->status));
        CPPUNIT_ASSERT_EQUAL(T0, got->createdAt);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(60), got->retentionSeconds);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(42), got->rowsTotal.value_or(-1));
        CPPUNIT_ASSERT(!got->startedAt && !got->readyAt && !got->expiresAt && !got->fileDeletedAt);
        CPPUNIT_ASSERT_EQUAL(std::string("instance-a"), got->instanceId);

        CPPUNIT_ASSERT(_reg->markRunning(r.id, "instance-a", T0 + 1));
        CPPUNIT_ASSERT(_reg->markReady(r.id, sampleFile(r.id), T0 + 2, T0 + 60002, "instance-a"));
        got = _reg->find(r.id);
        CPPUNIT_ASSERT_EQUAL(std::string("ready"), toString(got->status));
        CPPUNIT_ASSERT_EQUAL(T0 + 1, got->startedAt.value_or(0));
        CPPUNIT_ASSERT_EQUAL(T0 + 2, got->readyAt.value_or(0));
        CPPUNIT_ASSERT_EQUAL(T0 + 60002, got->expiresAt.value_or(0));
        CPPUNIT_ASSERT_EQUAL(sampleFile(r.id).name, got->file.name);
        CPPUNIT_ASSERT_EQUAL(sampleFile(r.id).sha256, got->file.sha256);
        CPPUNIT_ASSERT_EQUAL(std::string("text/csv; charset=utf-8"), got->file.contentType);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(10), got->file.sizeBytes);
        CPPUNIT_ASSERT_EQUAL(std::string("instance-a"), got->scheduledBy);
    }

    void testFindOfUnknownIdReturnsNothing()
    {
        CPPUNIT_ASSERT(!_reg->find(testId("nobody")).has_value());
    }

    // Verifies the double-click rule: an equal active request is answered, not duplicated.
    void testCreateOfSameActiveRequestReturnsExisting()
    {
        ExportRecord first = queuedRecord(testId("first"), T0);
        first.requestKey = "same";
        CPPUNIT_ASSERT(_reg->create(first, 1).outcome == CreateOutcome::Created);
        ExportRecord second = queuedRecord(testId("second"), T0 + 5);
        second.requestKey = "same";
        // The limit of 1 is reached, but the double-click answer comes first.
        auto res = _reg->create(second, 1);
        CPPUNIT_ASSERT(res.outcome == CreateOutcome::Existing);
        CPPUNIT_ASSERT_EQUAL(first.id, res.record.id);
        CPPUNIT_ASSERT(!_reg->find(second.id));
    }

    void testCreateBeyondLimitIsTooManyAndInsertsNothing()
    {
        for (int i = 0; i < 3; ++i)
            CPPUNIT_ASSERT(_reg->create(queuedRecord(testId("lim" + std::to_string(i)), T0), 3).outcome
                           == CreateOutcome::Created);
        auto res = _reg->create(queuedRecord(testId("lim3"), T0), 3);
        CPPUNIT_ASSERT(res.outcome == CreateOutcome::TooMany);
        CPPUNIT_ASSERT(!_reg->find(testId("lim3")));
        // Another limit key is not affected.
        CPPUNIT_ASSERT(_reg->create(queuedRecord(testId("other"), T0, "carol"), 3).outcome
                       == CreateOutcome::Created);
    }

    void testCreateAfterJobFinishedCountsNoMore()
    {
        ExportRecord a = queuedRecord(testId("done"), T0);
        a.requestKey = "same";
        CPPUNIT_ASSERT(_reg->create(a, 1).outcome == CreateOutcome::Created);
        CPPUNIT_ASSERT(_reg->markRunning(a.id, "instance-a", T0));
        CPPUNIT_ASSERT(_reg->markReady(a.id, sampleFile(a.id), T0, T0 + 1000, "instance-a"));
        ExportRecord b = queuedRecord(testId("again"), T0 + 1);
        b.requestKey = "same";
        CPPUNIT_ASSERT(_reg->create(b, 1).outcome == CreateOutcome::Created);
    }

    void testListByListKeyIsNewestFirstAndLimited()
    {
        for (int i = 0; i < 5; ++i)
            _reg->create(queuedRecord(testId("l" + std::to_string(i)), T0 + i), 0);
        _reg->create(queuedRecord(testId("bob"), T0 + 10, "bob"), 0);
        auto list = _reg->listByListKey("alice", 3);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), list.size());
        CPPUNIT_ASSERT_EQUAL(testId("l4"), list[0].id);
        CPPUNIT_ASSERT_EQUAL(testId("l3"), list[1].id);
        CPPUNIT_ASSERT_EQUAL(testId("l2"), list[2].id);
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), _reg->listByListKey("alice", 50).size());
    }

    // visitList hands over, row by row, the same records listByListKey copies:
    // same order, same limit, every field a client sees.
    void testVisitListSeesWhatListByListKeyReturns()
    {
        for (int i = 0; i < 4; ++i)
            _reg->create(queuedRecord(testId("v" + std::to_string(i)), T0 + i), 0);
        _reg->create(queuedRecord(testId("vbob"), T0 + 10, "bob"), 0);
        CPPUNIT_ASSERT(_reg->markRunning(testId("v1"), "instance-a", T0 + 5));
        CPPUNIT_ASSERT(_reg->updateProgress(testId("v1"), 7, 70));
        CPPUNIT_ASSERT(_reg->markRunning(testId("v2"), "instance-a", T0 + 5));
        CPPUNIT_ASSERT(_reg->markReady(testId("v2"), sampleFile(testId("v2")), T0 + 6, T0 + 1006, "instance-a"));
        CPPUNIT_ASSERT(_reg->markFailed(testId("v3"), "disk_full", "full \"disk\"", T0 + 7));
        struct Collect : ListVisitor {
            int restarts = 0;
            std::vector<ExportRecord> seen;
            void restart() override { ++restarts, seen.clear(); }
            void record(const ExportView& v) override
            {
                ExportRecord r;
                r.id = v.id, r.status = v.status, r.dataset = v.dataset, r.format = v.format;
                r.filtersJson = v.filtersJson, r.retentionSeconds = v.retentionSeconds, r.createdAt = v.createdAt;
                r.startedAt = v.startedAt, r.readyAt = v.readyAt, r.expiresAt = v.expiresAt;
                r.fileDeletedAt = v.fileDeletedAt, r.deletedAt = v.deletedAt, r.failedAt = v.failedAt;
                r.rowsWritten = v.rowsWritten, r.rowsTotal = v.rowsTotal;
                r.file = {std::string(v.fileName), v.fileSizeBytes, v.fileRows, std::string(v.fileContentType),
                          std::string(v.fileSha256)};
                r.errorCode = v.errorCode, r.errorMessage = v.errorMessage, r.downloadCount = v.downloadCount;
                seen.push_back(r);
            }
        };
        for (int limit : {3, 50}) {
            Collect c;
            _reg->visitList("alice", limit, c);
            const auto want = _reg->listByListKey("alice", limit);
            CPPUNIT_ASSERT_EQUAL(1, c.restarts);
            CPPUNIT_ASSERT_EQUAL(want.size(), c.seen.size());
            for (std::size_t i = 0; i < want.size(); ++i) {
                const ExportRecord& w = want[i];
                const ExportRecord& g = c.seen[i];
                CPPUNIT_ASSERT_EQUAL(w.id, g.id);
                CPPUNIT_ASSERT(w.status == g.status);
                CPPUNIT_ASSERT_EQUAL(w.dataset + w.format + w.filtersJson, g.dataset + g.format + g.filtersJson);
                CPPUNIT_ASSERT(w.createdAt == g.createdAt && w.startedAt == g.startedAt && w.readyAt == g.readyAt);
                CPPUNIT_ASSERT(w.expiresAt == g.expiresAt && w.failedAt == g.failedAt && w.deletedAt == g.deletedAt);
                CPPUNIT_ASSERT(w.rowsWritten == g.rowsWritten && w.rowsTotal == g.rowsTotal);
                CPPUNIT_ASSERT_EQUAL(w.file.name + w.file.contentType + w.file.sha256,
                                     g.file.name + g.file.contentType + g.file.sha256);
                CPPUNIT_ASSERT(w.file.sizeBytes == g.file.sizeBytes && w.file.rows == g.file.rows);
                CPPUNIT_ASSERT_EQUAL(w.errorCode + w.errorMessage, g.errorCode + g.errorMessage);
                CPPUNIT_ASSERT_EQUAL(w.retentionSeconds, g.retentionSeconds);
                CPPUNIT_ASSERT_EQUAL(w.downloadCount, g.downloadCount);
            }
        }
        Collect c;
        _reg->visitList("alice", 50, c);
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), c.seen.size());
        CPPUNIT_ASSERT_EQUAL(testId("v3"), c.seen[0].id);
        CPPUNIT_ASSERT(c.seen[0].status == ExportStatus::Failed);
        CPPUNIT_ASSERT_EQUAL(std::string("full \"disk\""), c.seen[0].errorMessage);
        CPPUNIT_ASSERT(c.seen[1].status == ExportStatus::Ready);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(64), std::int64_t(c.seen[1].file.sha256.size()));
        CPPUNIT_ASSERT(c.seen[2].rowsTotal == std::int64_t(70));
        Collect none;
        _reg->visitList("nobody", 50, none);
        CPPUNIT_ASSERT(none.seen.empty());
    }

    void testMarkRunningAppliesOnlyToQueued()
    {
        const std::string id = testId("run");
        CPPUNIT_ASSERT(!_reg->markRunning(id, "instance-a", T0)); // unknown
        _reg->create(queuedRecord(id, T0), 0);
        CPPUNIT_ASSERT(_reg->markRunning(id, "instance-b", T0 + 1));
        CPPUNIT_ASSERT(!_reg->markRunning(id, "instance-a", T0 + 2));
        CPPUNIT_ASSERT_EQUAL(std::string("instance-b"), _reg->find(id)->instanceId);
        CPPUNIT_ASSERT(_reg->markFailed(id, "disk_full", "full", T0 + 3));
        CPPUNIT_ASSERT(!_reg->markRunning(id, "instance-a", T0 + 4));
    }

    void testUpdateProgressAppliesOnlyWhileRunning()
    {
        const std::string id = testId("prog");
        _reg->create(queuedRecord(id, T0), 0);
        CPPUNIT_ASSERT(!_reg->updateProgress(id, 10, 100));
        _reg->markRunning(id, "instance-a", T0);
        CPPUNIT_ASSERT(_reg->updateProgress(id, 10, 100));
        CPPUNIT_ASSERT(_reg->updateProgress(id, 20, std::nullopt)); // keeps the known total
        auto got = _reg->find(id);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(20), got->rowsWritten);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(100), got->rowsTotal.value_or(-1));
        _reg->markReady(id, sampleFile(id), T0, T0 + 1000, "instance-a");
        CPPUNIT_ASSERT(!_reg->updateProgress(id, 30, 100));
    }

    void testMarkReadyAppliesOnlyToRunning()
    {
        const std::string id = testId("ready");
        _reg->create(queuedRecord(id, T0), 0);
        CPPUNIT_ASSERT(!_reg->markReady(id, sampleFile(id), T0, T0 + 1000, "instance-a"));
        _reg->markRunning(id, "instance-a", T0);
        CPPUNIT_ASSERT(_reg->markReady(id, sampleFile(id), T0, T0 + 1000, "instance-a"));
        CPPUNIT_ASSERT(!_reg->markReady(id, sampleFile(id), T0, T0 + 2000, "instance-a"));
        CPPUNIT_ASSERT_EQUAL(T0 + 1000, _reg->find(id)->expiresAt.value_or(0));
    }

    void testMarkFailedAppliesOnlyToQueuedOrRunning()
    {
        const std::string q = testId("failq"), r = testId("failr"), d = testId("faild");
        _reg->create(queuedRecord(q, T0), 0);
        CPPUNIT_ASSERT(_reg->markFailed(q, "too_many_rows", "too many", T0 + 1));
        auto got = _reg->find(q);
        CPPUNIT_ASSERT_EQUAL(std::string("failed"), toString(got->status));
        CPPUNIT_ASSERT_EQUAL(std::string("too_many_rows"), got->errorCode);
        CPPUNIT_ASSERT_EQUAL(T0 + 1, got->failedAt.value_or(0));
        CPPUNIT_ASSERT(!_reg->markFailed(q, "other", "again", T0 + 2));

        _reg->create(queuedRecord(r, T0), 0);
        _reg->markRunning(r, "instance-a", T0);
        CPPUNIT_ASSERT(_reg->markFailed(r, "disk_full", "full", T0 + 1));

        makeReady(*_reg, d, T0, T0 + 1000);
        CPPUNIT_ASSERT(!_reg->markFailed(d, "disk_full", "full", T0 + 1));
    }

    void testMarkDeletedAppliesUntilExpiry()
    {
        const std::string q = testId("delq"), r = testId("delr"), late = testId("dell");
        _reg->create(queuedRecord(q, T0), 0);
        CPPUNIT_ASSERT(_reg->markDeleted(q, T0 + 1));
        CPPUNIT_ASSERT_EQUAL(std::string("deleted"), toString(_reg->find(q)->status));
        CPPUNIT_ASSERT_EQUAL(T0 + 1, _reg->find(q)->deletedAt.value_or(0));
        CPPUNIT_ASSERT(!_reg->markDeleted(q, T0 + 2)); // already deleted

        makeReady(*_reg, r, T0, T0 + 1000);
        CPPUNIT_ASSERT(_reg->markDeleted(r, T0 + 999));

        makeReady(*_reg, late, T0, T0 + 1000);
        CPPUNIT_ASSERT(!_reg->markDeleted(late, T0 + 1000)); // at expires_at it is expired
        CPPUNIT_ASSERT(_reg->markFileDeleted(late, T0 + 1000));
        CPPUNIT_ASSERT(!_reg->markDeleted(late, T0 + 1001));
        CPPUNIT_ASSERT_EQUAL(std::string("expired"), toString(_reg->find(late)->status));
    }

    void testMarkFileDeletedExpiresReadyOnce()
    {
        const std::string id = testId("fdel");
        _reg->create(queuedRecord(id, T0), 0);
        CPPUNIT_ASSERT(!_reg->markFileDeleted(id, T0)); // queued: no file yet
        _reg->markRunning(id, "instance-a", T0);
        CPPUNIT_ASSERT(!_reg->markFileDeleted(id, T0)); // running: the job owns the .part
        _reg->markReady(id, sampleFile(id), T0, T0 + 1000, "instance-a");
        CPPUNIT_ASSERT(_reg->markFileDeleted(id, T0 + 1003));
        CPPUNIT_ASSERT(!_reg->markFileDeleted(id, T0 + 1004));
        auto got = _reg->find(id);
        CPPUNIT_ASSERT_EQUAL(std::string("expired"), toString(got->status));
        CPPUNIT_ASSERT_EQUAL(T0 + 1003, got->fileDeletedAt.value_or(0));
        CPPUNIT_ASSERT(!_reg->markFileDeleted(testId("unknown"), T0));
    }

    // Verifies the batch the cleanup timer records: each element applies as
    // markFileDeleted would, and says whether it applied.
    void testMarkFilesDeletedAppliesEachOnceInOneBatch()
    {
        std::vector<std::pair<std::string, Millis>> batch;
        for (int i = 0; i < 5; ++i) {
            const std::string id = testId("batch" + std::to_string(i));
            _reg->create(queuedRecord(id, T0), 0);
            _reg->markRunning(id, "instance-a", T0);
            if (i != 2) // the third stays running: nothing to record for it
                _reg->markReady(id, sampleFile(id), T0, T0 + 1000, "instance-a");
            batch.emplace_back(id, T0 + 1000 + i);
        }
        batch.emplace_back(testId("unknown"), T0 + 1000);
        const auto done = _reg->markFilesDeleted(batch);
        CPPUNIT_ASSERT_EQUAL(batch.size(), done.size());
        for (std::size_t i = 0; i < batch.size(); ++i)
            CPPUNIT_ASSERT_EQUAL(i != 2 && i != 5, bool(done[i]));
        auto first = _reg->find(batch[0].first);
        CPPUNIT_ASSERT_EQUAL(std::string("expired"), toString(first->status));
        CPPUNIT_ASSERT_EQUAL(T0 + 1000, first->fileDeletedAt.value_or(0));
        CPPUNIT_ASSERT_EQUAL(T0 + 1004, _reg->find(batch[4].first)->fileDeletedAt.value_or(0));
        CPPUNIT_ASSERT_EQUAL(std::string("running"), toString(_reg->find(batch[2].first)->status));
        // A second recording of the same deletions applies to none.
        for (bool applied : _reg->markFilesDeleted(batch))
            CPPUNIT_ASSERT(!applied);
    }

    // Verifies that two processes recording overlapping batches in opposite
    // orders at once neither fail (a deadlock between them is avoided or
    // retried) nor record one deletion twice.
    void testOverlappingBatchesFromTwoProcessesApplyEachOnce()
    {
        auto other = openRegistry(_uri);
        for (int round = 0; round < 10; ++round) {
            std::vector<std::pair<std::string, Millis>> forward;
            for (int i = 0; i < 200; ++i) {
                const std::string id = testId("ob" + std::to_string(round) + "n" + std::to_string(i));
                makeReady(*_reg, id, T0, T0 + 1000);
                forward.emplace_back(id, T0 + 1000);
            }
            const std::vector<std::pair<std::string, Millis>> backward(forward.rbegin(), forward.rend());
            std::vector<bool> doneA, doneB;
            std::string errA, errB;
            std::atomic<int> arrived{0};
            auto recorder = [&arrived](Registry& reg, const std::vector<std::pair<std::string, Millis>>& batch,
                                       std::vector<bool>& done, std::string& err) {
                return [&reg, &arrived, &batch, &done, &err] {
                    ++arrived;
                    while (arrived.load() < 2) std::this_thread::yield();
                    try {
                        done = reg.markFilesDeleted(batch);
                    } catch (const std::exception& e) {
                        err = e.what();
                    }
                };
            };
            std::thread ta(recorder(*_reg, forward, doneA, errA));
            std::thread tb(recorder(*other, backward, doneB, errB));
            ta.join();
            tb.join();
            const std::string where = "round " + std::to_string(round);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(where, std::string(), errA);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(where, std::string(), errB);
            for (std::size_t i = 0; i < forward.size(); ++i)
                CPPUNIT_ASSERT_MESSAGE(where + " " + forward[i].first,
                                       bool(doneA[i]) != bool(doneB[forward.size() - 1 - i]));
        }
    }

    void testMarkFileDeletedRecordsBytesOfDeletedExport()
    {
        const std::string id = testId("fdeld");
        makeReady(*_reg, id, T0, T0 + 1000);
        CPPUNIT_ASSERT(_reg->markDeleted(id, T0 + 10));
        CPPUNIT_ASSERT(_reg->markFileDeleted(id, T0 + 11));
        auto got = _reg->find(id);
        CPPUNIT_ASSERT_EQUAL(std::string("deleted"), toString(got->status));
        CPPUNIT_ASSERT_EQUAL(T0 + 11, got->fileDeletedAt.value_or(0));
        CPPUNIT_ASSERT(!_reg->markFileDeleted(id, T0 + 12));
    }

    void testAuthorizeDownloadRefusedAtAndAfterExpiry()
    {
        const std::string id = testId("dl");
        _reg->create(queuedRecord(id, T0), 0);
        CPPUNIT_ASSERT(!_reg->authorizeDownload(id, T0)); // queued
        _reg->markRunning(id, "instance-a", T0);
        _reg->markReady(id, sampleFile(id), T0, T0 + 1000, "instance-a");
        CPPUNIT_ASSERT(_reg->authorizeDownload(id, T0 + 1));
        CPPUNIT_ASSERT(_reg->authorizeDownload(id, T0 + 999));
        CPPUNIT_ASSERT(!_reg->authorizeDownload(id, T0 + 1000));
        CPPUNIT_ASSERT(!_reg->authorizeDownload(id, T0 + 5000));
        CPPUNIT_ASSERT_EQUAL(std::int64_t(2), _reg->find(id)->downloadCount);
        CPPUNIT_ASSERT(!_reg->authorizeDownload(testId("unknown"), T0));

        ManualClock clock(T0 + 999);
        CPPUNIT_ASSERT(_reg->authorizeDownloadAt(id, clock));
        clock.set(T0 + 1000);
        CPPUNIT_ASSERT(!_reg->authorizeDownloadAt(id, clock));
        CPPUNIT_ASSERT_EQUAL(std::int64_t(3), _reg->find(id)->downloadCount);
    }

    // Verifies that two registry objects on one file (two processes) racing for
    // the same transition never both win it.
    void testClaimByTwoProcessesAppliesOnce()
    {
        auto other = openRegistry(_uri);
        const int rounds = 200;
        for (int i = 0; i < rounds; ++i)
            _reg->create(queuedRecord(testId("race" + std::to_string(i)), T0 + i), 0);

        std::atomic<int> winsA{0}, winsB{0}, both{0};
        for (int i = 0; i < rounds; ++i) {
            const std::string id = testId("race" + std::to_string(i));
            std::atomic<bool> go{false};
            bool a = false, b = false;
            std::thread ta([&] {
                while (!go) {}
                a = _reg->markRunning(id, "instance-a", T0);
            });
            std::thread tb([&] {
                while (!go) {}
                b = other->markRunning(id, "instance-b", T0);
            });
            go = true;
            ta.join();
            tb.join();
            CPPUNIT_ASSERT_MESSAGE(id, a != b);
            (a ? winsA : winsB)++;
            if (a && b) both++;
            const std::string expected = a ? "instance-a" : "instance-b";
            CPPUNIT_ASSERT_EQUAL(expected, other->find(id)->instanceId);
        }
        CPPUNIT_ASSERT_EQUAL(rounds, winsA + winsB);
        CPPUNIT_ASSERT_EQUAL(0, both.load());
    }

    // Verifies that the double-click lookup, the count and the insert are one
    // transaction across processes: the limit holds under concurrent creates.
    void testCreateByTwoProcessesRespectsLimit()
    {
        auto other = openRegistry(_uri);
        const int perThread = 30;
        std::atomic<int> created{0}, tooMany{0};
        auto worker = [&](Registry& reg, const std::string& tag) {
            for (int i = 0; i < perThread; ++i) {
                auto res = reg.create(queuedRecord(testId(tag + std::to_string(i)), T0), 5);
                if (res.outcome == CreateOutcome::Created) created++;
                if (res.outcome == CreateOutcome::TooMany) tooMany++;
            }
        };
        std::thread ta([&] { worker(*_reg, "ca"); });
        std::thread tb([&] { worker(*other, "cb"); });
        ta.join();
        tb.join();
        CPPUNIT_ASSERT_EQUAL(5, created.load());
        CPPUNIT_ASSERT_EQUAL(2 * perThread - 5, tooMany.load());
    }

    void testFailInterruptedRespectsLiveLeases()
    {
        const Millis lease = 10000;
        _reg->heartbeat("live", T0);
        _reg->heartbeat("dead", T0 - lease - 1);
        _reg->create(queuedRecord(testId("liveq"), T0, "a", "live"), 0);
        _reg->create(queuedRecord(testId("deadq"), T0, "b", "dead"), 0);
        _reg->create(queuedRecord(testId("deadr"), T0, "c", "dead"), 0);
        _reg->markRunning(testId("deadr"), "dead", T0);
        _reg->create(queuedRecord(testId("ghost"), T0, "d", "never-heard-of"), 0);
        makeReady(*_reg, testId("deadready"), T0, T0 + 1000, "dead");

        auto live = _reg->liveInstances(T0, lease);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), live.size());
        CPPUNIT_ASSERT_EQUAL(std::string("live"), live[0]);

        auto ids = _reg->failInterrupted(T0, lease);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), ids.size());
        CPPUNIT_ASSERT_EQUAL(std::string("queued"), toString(_reg->find(testId("liveq"))->status));
        for (const char* tag : {"deadq", "deadr", "ghost"}) {
            auto got = _reg->find(testId(tag));
            CPPUNIT_ASSERT_EQUAL(std::string("failed"), toString(got->status));
            CPPUNIT_ASSERT_EQUAL(std::string("interrupted"), got->errorCode);
            CPPUNIT_ASSERT(!got->errorMessage.empty());
        }
        CPPUNIT_ASSERT_EQUAL(std::string("ready"), toString(_reg->find(testId("deadready"))->status));
        CPPUNIT_ASSERT(_reg->failInterrupted(T0, lease).empty());

        // Once its lease lapses, the live one's job is interrupted too.
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), _reg->failInterrupted(T0 + lease, lease).size());
        _reg->removeInstance("live");
        CPPUNIT_ASSERT(_reg->liveInstances(T0, lease).empty());
    }

    // Verifies that two processes sweeping at once split the ready records no
    // live process has scheduled: in every round, with fresh records and both
    // claimers released together, each record goes to exactly one of them, and
    // what the registry shows as scheduled by each is exactly what its call
    // returned (a record claimed but not returned would get no timer and wait
    // for a sweep after its expiry).
    void testClaimUnscheduledGivesEachRecordToOneInstance()
    {
        const Millis lease = 10000;
        const Millis expires = T0 + 10 * lease; // still due after the takeover below
        auto other = openRegistry(_uri);
        _reg->heartbeat("a", T0);
        other->heartbeat("b", T0);
        makeReady(*_reg, testId("mine"), T0, expires, "a");
        makeReady(*_reg, testId("due"), T0, T0, "crashed");

        auto addUnscheduled = [&](const std::string& id) {
            ExportRecord r = queuedRecord(id, T0, "owner-" + id, "crashed");
            r.status = ExportStatus::Ready;
            r.readyAt = T0;
            r.expiresAt = expires;
            r.file = sampleFile(id);
            r.scheduledBy = "crashed";
            CPPUNIT_ASSERT(_reg->create(r, 0).outcome == CreateOutcome::Created);
        };

        const int rounds = 100, perRound = 40;
        std::set<std::string> claimedByB;
        int wonByB = 0; // rounds b claimed in (one transaction takes them all)
        for (int round = 0; round < rounds; ++round) {
            std::set<std::string> fresh;
            for (int i = 0; i < perRound; ++i) {
                const std::string id = testId("cl" + std::to_string(round) + "n" + std::to_string(i));
                addUnscheduled(id);
                fresh.insert(id);
            }

            std::vector<ExportRecord> gotA, gotB;
            std::string errA, errB;
            std::atomic<int> arrived{0};
            auto claimer = [&arrived](Registry& reg, const char* instance, std::vector<ExportRecord>& got,
                                      std::string& err) {
                return [&reg, &arrived, instance, &got, &err] {
                    ++arrived; // a barrier: neither starts before both are running
                    while (arrived.load() < 2) std::this_thread::yield();
                    try {
                        got = reg.claimUnscheduled(instance, T0 + 1, lease);
                    } catch (const std::exception& e) {
                        err = e.what();
                    }
                };
            };
            std::thread ta(claimer(*_reg, "a", gotA, errA));
            std::thread tb(claimer(*other, "b", gotB, errB));
            ta.join();
            tb.join();

            const std::string where = "round " + std::to_string(round);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(where, std::string(), errA);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(where, std::string(), errB);
            std::set<std::string> returned;
            for (const auto& [got, instance] : {std::pair{&gotA, "a"}, std::pair{&gotB, "b"}})
                for (const auto& r : *got) {
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(where, std::string(instance), r.scheduledBy);
                    CPPUNIT_ASSERT_MESSAGE(where + ": returned twice " + r.id, returned.insert(r.id).second);
                }
            // Each record claimed exactly once, by one of them.
            CPPUNIT_ASSERT_MESSAGE(where, fresh == returned);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(where, std::size_t(perRound), gotA.size() + gotB.size());
            // The registry agrees record by record: scheduled by the one whose
            // call returned it, by nobody else.
            std::set<std::string> idsA, idsB;
            for (const auto& r : gotA) idsA.insert(r.id);
            for (const auto& r : gotB) idsB.insert(r.id);
            for (const std::string& id : fresh) {
                const std::string expected = idsA.count(id) ? "a" : idsB.count(id) ? "b" : "(not returned)";
                CPPUNIT_ASSERT_EQUAL_MESSAGE(where + " " + id, expected, other->find(id)->scheduledBy);
            }
            claimedByB.insert(idsB.begin(), idsB.end());
            if (!gotB.empty()) ++wonByB;
        }
        std::printf("\n  claimUnscheduled race: b claimed in %d of %d rounds, a in the others\n", wonByB, rounds);
        CPPUNIT_ASSERT_EQUAL(std::string("a"), _reg->find(testId("mine"))->scheduledBy);
        CPPUNIT_ASSERT_EQUAL(std::string("crashed"), _reg->find(testId("due"))->scheduledBy);
        CPPUNIT_ASSERT(_reg->claimUnscheduled("a", T0 + 1, lease).empty());

        // Some records b surely holds, whoever won the races above.
        for (int i = 0; i < 3; ++i) {
            const std::string id = testId("onlyb" + std::to_string(i));
            addUnscheduled(id);
            claimedByB.insert(id);
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), other->claimUnscheduled("b", T0 + 1, lease).size());

        // When b's lease lapses, a takes over exactly what b had claimed (all
        // still before their expiry; an overdue one is the sweep's to delete).
        const Millis later = T0 + lease + 5;
        _reg->heartbeat("a", later);
        std::set<std::string> takenOver;
        for (const auto& r : _reg->claimUnscheduled("a", later, lease)) takenOver.insert(r.id);
        CPPUNIT_ASSERT(claimedByB == takenOver);
        CPPUNIT_ASSERT(_reg->claimUnscheduled("a", later, lease).empty());
    }

    void testPurgeRemovesOnlyOldFinishedRecords()
    {
        const std::string expired = testId("pexp"), failed = testId("pfail"),
                          deleted = testId("pdel"), ready = testId("pready"),
                          queued = testId("pqueue"), recent = testId("precent"),
                          unrecorded = testId("punrec");
        makeReady(*_reg, expired, T0, T0 + 10);
        _reg->markFileDeleted(expired, T0 + 10);
        _reg->create(queuedRecord(failed, T0), 0);
        _reg->markFailed(failed, "disk_full", "full", T0 + 5);
        _reg->create(queuedRecord(deleted, T0), 0);
        _reg->markDeleted(deleted, T0 + 5);
        makeReady(*_reg, ready, T0, T0 + 10); // overdue, file not yet deleted
        _reg->create(queuedRecord(queued, T0), 0);
        makeReady(*_reg, recent, T0, T0 + 10);
        _reg->markFileDeleted(recent, T0 + 5000);

        CPPUNIT_ASSERT_EQUAL(3, _reg->purgeBefore(T0 + 1000));
        CPPUNIT_ASSERT(!_reg->find(expired) && !_reg->find(failed) && !_reg->find(deleted));
        CPPUNIT_ASSERT(_reg->find(ready) && _reg->find(queued) && _reg->find(recent));
        CPPUNIT_ASSERT(!_reg->find(unrecorded));
        CPPUNIT_ASSERT_EQUAL(0, _reg->purgeBefore(T0 + 1000));
    }

    void testPendingCleanupsAndOldestOverdueSeeOnlyReady()
    {
        CPPUNIT_ASSERT(!_reg->oldestOverdue(T0).has_value());
        makeReady(*_reg, testId("o1"), T0, T0 + 100);
        makeReady(*_reg, testId("o2"), T0, T0 + 50);
        makeReady(*_reg, testId("o3"), T0, T0 + 5000);
        _reg->create(queuedRecord(testId("o4"), T0), 0);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(3), _reg->countPendingCleanups());
        CPPUNIT_ASSERT_EQUAL(T0 + 50, _reg->oldestOverdue(T0 + 200).value_or(0));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), _reg->overdueReady(T0 + 200).size());
        _reg->markFileDeleted(testId("o2"), T0 + 200);
        CPPUNIT_ASSERT_EQUAL(T0 + 100, _reg->oldestOverdue(T0 + 200).value_or(0));
        CPPUNIT_ASSERT_EQUAL(std::int64_t(2), _reg->countPendingCleanups());
        _reg->ping();
    }

    // --- the registry's part of the per-owner limits and sessions (README
    // "Security"): the double-click rule within one list, the creation rate,
    // the bytes an owner holds, the shared secret and the uncounted download gate.

    // Verifies that two sessions behind one address (same limit key) never share an export.
    void testSameRequestOfAnotherListIsCreatedNotMerged()
    {
        ExportRecord first = queuedRecord(testId("first"), T0);
        first.listKey = "session:one";
        first.limitKey = "addr:127.0.0.1";
        first.requestKey = "same";
        CPPUNIT_ASSERT(_reg->create(first, 3).outcome == CreateOutcome::Created);
        ExportRecord second = queuedRecord(testId("second"), T0 + 50);
        second.listKey = "session:two";
        second.limitKey = "addr:127.0.0.1";
        second.requestKey = "same";
        const auto res = _reg->create(second, 3);
        CPPUNIT_ASSERT(res.outcome == CreateOutcome::Created);
        CPPUNIT_ASSERT_EQUAL(second.id, res.record.id);
        CPPUNIT_ASSERT(_reg->find(second.id).has_value());
    }

    void testSameRequestOfSameListStillMerges()
    {
        ExportRecord first = queuedRecord(testId("first"), T0);
        first.requestKey = "same";
        CPPUNIT_ASSERT(_reg->create(first, 3).outcome == CreateOutcome::Created);
        ExportRecord second = queuedRecord(testId("second"), T0 + 50);
        second.requestKey = "same";
        const auto res = _reg->create(second, 3);
        CPPUNIT_ASSERT(res.outcome == CreateOutcome::Existing);
        CPPUNIT_ASSERT_EQUAL(first.id, res.record.id);
    }

    void testCreationBeyondRateIsTooFastWithRetryAfter()
    {
        CreateLimits limits;
        limits.maxPerWindow = 3;
        limits.windowMs = 60000;
        for (int i = 0; i < 3; ++i)
            CPPUNIT_ASSERT(_reg->create(queuedRecord(testId("r" + std::to_string(i)), T0 + i * 1000), limits).outcome
                           == CreateOutcome::Created);
        const auto res = _reg->create(queuedRecord(testId("r3"), T0 + 10000), limits);
        CPPUNIT_ASSERT(res.outcome == CreateOutcome::TooFast);
        // The first creation (T0) leaves the window at T0 + 60 s: 50 s from now.
        CPPUNIT_ASSERT_EQUAL(Millis(50000), res.retryAfterMs);
        CPPUNIT_ASSERT(!_reg->find(testId("r3")).has_value());
        // Another owner is not affected; the same owner may again once the window moved.
        CPPUNIT_ASSERT(_reg->create(queuedRecord(testId("bob"), T0 + 10000, "bob"), limits).outcome
                       == CreateOutcome::Created);
        CPPUNIT_ASSERT(_reg->create(queuedRecord(testId("later"), T0 + 60001), limits).outcome
                       == CreateOutcome::Created);
    }

    // Verifies that exports which finish at once (no rows) still count against the rate.
    void testCreationRateCountsFinishedExportsToo()
    {
        CreateLimits limits;
        limits.maxActive = 3;
        limits.maxPerWindow = 2;
        limits.windowMs = 60000;
        for (int i = 0; i < 2; ++i) {
            const std::string id = testId("f" + std::to_string(i));
            CPPUNIT_ASSERT(_reg->create(queuedRecord(id, T0 + i), limits).outcome == CreateOutcome::Created);
            CPPUNIT_ASSERT(_reg->markFailed(id, "too_many_rows", "x", T0 + i));
        }
        CPPUNIT_ASSERT(_reg->create(queuedRecord(testId("f2"), T0 + 5), limits).outcome == CreateOutcome::TooFast);
    }

    void testBytesHeldCountsOnlyFilesStillPresent()
    {
        CPPUNIT_ASSERT_EQUAL(std::int64_t(0), _reg->bytesHeld("alice"));
        for (const char* tag : {"a", "b", "c"}) {
            const std::string id = testId(tag);
            CPPUNIT_ASSERT(_reg->create(queuedRecord(id, T0), 0).outcome == CreateOutcome::Created);
            CPPUNIT_ASSERT(_reg->markRunning(id, "instance-a", T0));
            FileInfo file = sampleFile(id);
            file.sizeBytes = 1000;
            CPPUNIT_ASSERT(_reg->markReady(id, file, T0, T0 + 1000, "instance-a"));
        }
        CPPUNIT_ASSERT_EQUAL(std::int64_t(3000), _reg->bytesHeld("alice"));
        CPPUNIT_ASSERT(_reg->markFileDeleted(testId("a"), T0 + 1000));
        CPPUNIT_ASSERT(_reg->markDeleted(testId("b"), T0 + 10));
        CPPUNIT_ASSERT(_reg->markFileDeleted(testId("b"), T0 + 10));
        CPPUNIT_ASSERT_EQUAL(std::int64_t(1000), _reg->bytesHeld("alice"));
        CPPUNIT_ASSERT_EQUAL(std::int64_t(0), _reg->bytesHeld("bob"));
    }

    void testSharedSecretKeepsTheFirstCandidate()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("first-candidate"), _reg->sharedSecret("k", "first-candidate"));
        CPPUNIT_ASSERT_EQUAL(std::string("first-candidate"), _reg->sharedSecret("k", "second-candidate"));
        // A second process of the same registry gets the same secret.
        auto other = openRegistry(_uri);
        CPPUNIT_ASSERT_EQUAL(std::string("first-candidate"), other->sharedSecret("k", "third"));
        CPPUNIT_ASSERT_EQUAL(std::string("another"), other->sharedSecret("other-name", "another"));
    }

    void testCheckDownloadDecidesWithoutCounting()
    {
        const std::string id = testId("dl");
        makeReady(*_reg, id, T0, T0 + 1000);
        ManualClock clock(T0 + 10);
        CPPUNIT_ASSERT(_reg->authorizeDownloadAt(id, clock));
        CPPUNIT_ASSERT(_reg->checkDownloadAt(id, clock));
        CPPUNIT_ASSERT(_reg->checkDownloadAt(id, clock));
        CPPUNIT_ASSERT_EQUAL(std::int64_t(1), _reg->find(id)->downloadCount);
        clock.set(T0 + 1000);
        CPPUNIT_ASSERT(!_reg->checkDownloadAt(id, clock));
        CPPUNIT_ASSERT(!_reg->checkDownloadAt(testId("unknown"), clock));
        // The wall clock: long expired.
        SystemClock wall;
        CPPUNIT_ASSERT(!_reg->checkDownloadAt(id, wall));
    }

    // Verifies the double-click rule across processes: the same request sent to
    // two processes at once is created once and answered with that one twice.
    void testSameRequestFromTwoProcessesCreatesOnce()
    {
        auto other = openRegistry(_uri);
        for (int round = 0; round < 30; ++round) {
            ExportRecord a = queuedRecord(testId("dca" + std::to_string(round)), T0 + round);
            ExportRecord b = queuedRecord(testId("dcb" + std::to_string(round)), T0 + round);
            a.requestKey = b.requestKey = "same-" + std::to_string(round);
            CreateResult ra, rb;
            std::atomic<int> arrived{0};
            auto creator = [&arrived](Registry& reg, const ExportRecord& rec, CreateResult& out) {
                return [&reg, &arrived, &rec, &out] {
                    ++arrived;
                    while (arrived.load() < 2) std::this_thread::yield();
                    out = reg.create(rec, 100);
                };
            };
            std::thread ta(creator(*_reg, a, ra));
            std::thread tb(creator(*other, b, rb));
            ta.join();
            tb.join();
            const std::string where = "round " + std::to_string(round);
            CPPUNIT_ASSERT_MESSAGE(where, (ra.outcome == CreateOutcome::Created) != (rb.outcome == CreateOutcome::Created));
            const CreateResult& loser = ra.outcome == CreateOutcome::Created ? rb : ra;
            const std::string winner = ra.outcome == CreateOutcome::Created ? a.id : b.id;
            CPPUNIT_ASSERT_MESSAGE(where, loser.outcome == CreateOutcome::Existing);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(where, winner, loser.record.id);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(where, std::size_t(round + 1), _reg->listByListKey("alice", 500).size());
        }
    }

    // Verifies that one registry object serves many threads at once (its pool).
    void testRegistryWorksFromManyThreads()
    {
        std::vector<std::thread> threads;
        std::atomic<int> errors{0};
        for (int t = 0; t < 8; ++t)
            threads.emplace_back([&, t] {
                for (int i = 0; i < 25; ++i) {
                    const std::string id = testId("mt" + std::to_string(t) + "x" + std::to_string(i));
                    try {
                        _reg->create(queuedRecord(id, T0 + i, "o" + std::to_string(t)), 0);
                        if (!_reg->find(id)) ++errors;
                    } catch (const std::exception&) {
                        ++errors;
                    }
                }
            });
        for (auto& th : threads) th.join();
        CPPUNIT_ASSERT_EQUAL(0, errors.load());
        std::size_t total = 0;
        for (int t = 0; t < 8; ++t) total += _reg->listByListKey("o" + std::to_string(t), 500).size();
        CPPUNIT_ASSERT_EQUAL(std::size_t(200), total);
    }

    void testPendingSinceListsReadyFilesStillPresent()
    {
        makeReady(*_reg, testId("p2"), T0 + 20, T0 + 1020, "host-b");
        makeReady(*_reg, testId("p1"), T0 + 10, T0 + 1010, "host-a");
        makeReady(*_reg, testId("p3"), T0 + 20, T0 + 1020, "host-a");
        makeReady(*_reg, testId("gone"), T0 + 15, T0 + 1015);
        CPPUNIT_ASSERT(_reg->markFileDeleted(testId("gone"), T0 + 16));
        _reg->create(queuedRecord(testId("queued"), T0 + 30), 0);
        const auto all = _reg->pendingSince(T0, 0);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), all.size());
        CPPUNIT_ASSERT_EQUAL(testId("p1"), all[0].id);
        CPPUNIT_ASSERT_EQUAL(T0 + 10, all[0].readyAt);
        CPPUNIT_ASSERT_EQUAL(T0 + 1010, all[0].expiresAt);
        CPPUNIT_ASSERT_EQUAL(std::string("host-a"), all[0].scheduledBy);
        // Same ready_at: by id.
        CPPUNIT_ASSERT_EQUAL(testId("p2"), all[1].id);
        CPPUNIT_ASSERT_EQUAL(testId("p3"), all[2].id);
        const auto later = _reg->pendingSince(T0 + 20, 1);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), later.size());
        CPPUNIT_ASSERT_EQUAL(testId("p2"), later[0].id);
        CPPUNIT_ASSERT(_reg->pendingSince(T0 + 21, 10).empty());
    }

    void testRegistryNowIsNearTheSystemClock()
    {
        const Millis before = SystemClock().nowMs();
        const Millis now = _reg->registryNow();
        const Millis after = SystemClock().nowMs();
        // The database runs on this machine in the tests: the same clock.
        CPPUNIT_ASSERT(now >= before - 5 && now <= after + 5);
    }

protected:
    /// A URI of a new, empty registry for this test.
    virtual std::string newRegistryUri() = 0;
    /// Removes what newRegistryUri() made (the registry objects are closed).
    virtual void dropRegistry() = 0;

    static constexpr Millis T0 = 1795000000000; // 2026-11-18
    std::string _uri;
    std::unique_ptr<Registry> _reg;
};


} // namespace exportd::cleanup::test
