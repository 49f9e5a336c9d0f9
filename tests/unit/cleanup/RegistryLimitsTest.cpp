#include "TestSupport.h"

#include "cleanup/Clock.h"

#include <cppunit/extensions/HelperMacros.h>

namespace exportd::cleanup::test {

// The registry's part of the per-owner limits and sessions (README "Security"):
// the double-click rule within one list, the creation rate, the bytes an owner
// holds, the shared secret and the uncounted download gate.
class RegistryLimitsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RegistryLimitsTest);
    CPPUNIT_TEST(testSameRequestOfAnotherListIsCreatedNotMerged);
    CPPUNIT_TEST(testSameRequestOfSameListStillMerges);
    CPPUNIT_TEST(testCreationBeyondRateIsTooFastWithRetryAfter);
    CPPUNIT_TEST(testCreationRateCountsFinishedExportsToo);
    CPPUNIT_TEST(testBytesHeldCountsOnlyFilesStillPresent);
    CPPUNIT_TEST(testSharedSecretKeepsTheFirstCandidate);
    CPPUNIT_TEST(testCheckDownloadDecidesWithoutCounting);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _dir = std::make_unique<TempDir>();
        _reg = openRegistry("sqlite:" + _dir->file("registry.db"));
    }
    void tearDown() override
    {
        _reg.reset();
        _dir.reset();
    }

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
        auto other = openRegistry("sqlite:" + _dir->file("registry.db"));
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

private:
    static constexpr Millis T0 = 1795000000000;
    std::unique_ptr<TempDir> _dir;
    std::unique_ptr<Registry> _reg;
};

CPPUNIT_TEST_SUITE_REGISTRATION(RegistryLimitsTest);

} // namespace exportd::cleanup::test
