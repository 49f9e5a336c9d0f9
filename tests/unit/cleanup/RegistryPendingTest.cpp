#include "TestSupport.h"

#include "cleanup/Clock.h"
#include "cleanup/Registry.h"

#include <cppunit/extensions/HelperMacros.h>

#include <cstdlib>
#include <limits>
#include <memory>

using namespace exportd::cleanup;
using namespace exportd::cleanup::test;

/// Registry::pendingSince() and registryNow(), written against any registry
/// URI: each backend runs them through a subclass that names its uri()
/// (RegistryPendingSqliteTest below).
class RegistryPendingTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RegistryPendingTest);
    CPPUNIT_TEST(testPendingSinceListsOnlyReadyExportsByReadyAtThenId);
    CPPUNIT_TEST(testPendingSinceStartsAtSinceInclusive);
    CPPUNIT_TEST(testPendingSinceStopsAtLimit);
    CPPUNIT_TEST(testPendingSinceDropsAnExportOnceItsFileIsDeleted);
    CPPUNIT_TEST(testPendingSinceShowsWhoScheduledEachExport);
    CPPUNIT_TEST(testRegistryNowIsCloseToThisHostsClock);
    CPPUNIT_TEST_SUITE_END_ABSTRACT();

public:
    /// The registry to test, e.g. "sqlite:/tmp/x/registry.db"; empty each time.
    virtual std::string uri() = 0;

    void setUp() override { _reg = openRegistry(uri()); }
    void tearDown() override { _reg.reset(); }

    void testPendingSinceListsOnlyReadyExportsByReadyAtThenId()
    {
        makeReady(*_reg, testId("c"), T0 + 20, T0 + 60020);
        makeReady(*_reg, testId("b"), T0 + 10, T0 + 60010);
        makeReady(*_reg, testId("a"), T0 + 20, T0 + 1020, "instance-b"); // same ready_at as c: by id
        _reg->create(queuedRecord(testId("queued"), T0), 0);
        _reg->create(queuedRecord(testId("running"), T0), 0);
        _reg->markRunning(testId("running"), "instance-a", T0 + 1);
        makeReady(*_reg, testId("expired"), T0 + 5, T0 + 6);
        _reg->markFileDeleted(testId("expired"), T0 + 7);
        makeReady(*_reg, testId("deleted"), T0 + 5, T0 + 60005);
        _reg->markDeleted(testId("deleted"), T0 + 8);

        const auto pending = _reg->pendingSince(0, 100);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), pending.size());
        CPPUNIT_ASSERT_EQUAL(testId("b"), pending[0].id);
        CPPUNIT_ASSERT_EQUAL(testId("a"), pending[1].id);
        CPPUNIT_ASSERT_EQUAL(testId("c"), pending[2].id);
        CPPUNIT_ASSERT_EQUAL(T0 + 10, pending[0].readyAt);
        CPPUNIT_ASSERT_EQUAL(T0 + 60010, pending[0].expiresAt);
        CPPUNIT_ASSERT_EQUAL(T0 + 20, pending[1].readyAt);
        CPPUNIT_ASSERT_EQUAL(T0 + 1020, pending[1].expiresAt);
        CPPUNIT_ASSERT_EQUAL(std::string("instance-b"), pending[1].scheduledBy);
        CPPUNIT_ASSERT_EQUAL(std::string("instance-a"), pending[2].scheduledBy);
    }

    void testPendingSinceStartsAtSinceInclusive()
    {
        for (int i = 0; i < 5; ++i) makeReady(*_reg, testId("s" + std::to_string(i)), T0 + i * 100, T0 + 60000);
        const auto pending = _reg->pendingSince(T0 + 200, 100);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), pending.size());
        CPPUNIT_ASSERT_EQUAL(T0 + 200, pending.front().readyAt);
        CPPUNIT_ASSERT_EQUAL(T0 + 400, pending.back().readyAt);
        CPPUNIT_ASSERT(_reg->pendingSince(T0 + 401, 100).empty());
        // The watcher's first read starts at the smallest time there is.
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), _reg->pendingSince(std::numeric_limits<Millis>::min(), 100).size());
    }

    void testPendingSinceStopsAtLimit()
    {
        for (int i = 0; i < 5; ++i) makeReady(*_reg, testId("l" + std::to_string(i)), T0 + i, T0 + 60000);
        const auto page = _reg->pendingSince(0, 2);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), page.size());
        CPPUNIT_ASSERT_EQUAL(T0 + 1, page.back().readyAt);
        const auto next = _reg->pendingSince(page.back().readyAt, 2);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), next.size());
        CPPUNIT_ASSERT_EQUAL(page.back().id, next.front().id); // the since is inclusive
    }

    void testPendingSinceDropsAnExportOnceItsFileIsDeleted()
    {
        makeReady(*_reg, testId("gone"), T0, T0 + 1000);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), _reg->pendingSince(0, 10).size());
        CPPUNIT_ASSERT(_reg->markFilesDeleted({{testId("gone"), T0 + 1000}})[0]);
        CPPUNIT_ASSERT(_reg->pendingSince(0, 10).empty());
    }

    // Verifies that a claim by the sweeper (another process taking over the
    // timers of a dead one) shows in the watchers' reads.
    void testPendingSinceShowsWhoScheduledEachExport()
    {
        makeReady(*_reg, testId("claimed"), T0, T0 + 60000, "instance-dead");
        _reg->heartbeat("instance-live", T0 + 10);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), _reg->claimUnscheduled("instance-live", T0 + 10, 10000).size());
        const auto pending = _reg->pendingSince(0, 10);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), pending.size());
        CPPUNIT_ASSERT_EQUAL(std::string("instance-live"), pending[0].scheduledBy);
    }

    // The registry's clock is this machine's or a database server's on this
    // machine: a second apart at most (the tests run on one host).
    void testRegistryNowIsCloseToThisHostsClock()
    {
        const Millis before = SystemClock().nowMs();
        const Millis registry = _reg->registryNow();
        const Millis after = SystemClock().nowMs();
        CPPUNIT_ASSERT(registry >= before - 1000 && registry <= after + 1000);
    }

protected:
    static constexpr Millis T0 = 1764000000000; // 2025-11-24
    std::unique_ptr<Registry> _reg;
};

/// RegistryPendingTest on SQLite: a fresh file each test.
class RegistryPendingSqliteTest : public RegistryPendingTest {
    CPPUNIT_TEST_SUB_SUITE(RegistryPendingSqliteTest, RegistryPendingTest);
    CPPUNIT_TEST(testSqliteClockIsTheSystemClock);
    CPPUNIT_TEST_SUITE_END();

public:
    std::string uri() override
    {
        _dir = std::make_unique<TempDir>();
        return "sqlite:" + _dir->file("registry.db");
    }
    void tearDown() override
    {
        RegistryPendingTest::tearDown();
        _dir.reset();
    }

    void testSqliteClockIsTheSystemClock()
    {
        const Millis before = SystemClock().nowMs();
        const Millis registry = _reg->registryNow();
        CPPUNIT_ASSERT(registry >= before && registry <= SystemClock().nowMs());
    }

private:
    std::unique_ptr<TempDir> _dir;
};

CPPUNIT_TEST_SUITE_REGISTRATION(RegistryPendingSqliteTest);
