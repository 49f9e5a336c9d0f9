#include "../RegistryContract.h"
#include "PgTestSupport.h"

#include "cleanup/postgresql/Connection.h"

#include <chrono>

using namespace exportd::cleanup;
using namespace exportd::cleanup::test;

// The registry contract on PostgreSQL (a schema of its own per test in the
// test server), and what only a registry shared by several hosts must do.
class RegistryPgTest : public RegistryContract {
    CPPUNIT_TEST_SUB_SUITE(RegistryPgTest, RegistryContract);
    CPPUNIT_TEST(testGateDecidesWithDatabaseClockAfterWaitingForRowLock);
    CPPUNIT_TEST(testSchemaCreatedByFourInstancesAtOnce);
    CPPUNIT_TEST(testUnreachableServerFailsFastWithoutPassword);
    CPPUNIT_TEST(testStoppedServerFailsWithinBoundAndRegistryWorksAfterRestart);
    CPPUNIT_TEST(testIdsSortByteWiseWhateverTheLocale);
    CPPUNIT_TEST(testGateAfterRestartCountsOnceOnAFreshConnection);
    CPPUNIT_TEST(testUserWithoutCreateRightOpensACompleteSchema);
    CPPUNIT_TEST_SUITE_END();

public:
    // Verifies the gate's clock: a download asked before expires_at whose
    // row another transaction holds until after it is refused, whether that
    // transaction changes the row or only locks it (PostgreSQL re-evaluates
    // an UPDATE's WHERE after the wait only in the first case).
    void testGateDecidesWithDatabaseClockAfterWaitingForRowLock()
    {
        SystemClock wall;
        for (const char* lockSql : {"SELECT 1 FROM exports WHERE id = $1 FOR UPDATE",
                                    "UPDATE exports SET download_count = download_count WHERE id = $1"}) {
            const std::string id = testId(std::string("gate") + lockSql[0]);
            const Millis now = _reg->registryNow();
            const Millis expires = now + 600;
            makeReady(*_reg, id, now, expires);

            // The holder keeps the row from before expires_at until 400 ms after
            // it (within the registry's 2 s statement timeout).
            postgresql::Connection holder(_uri);
            holder.exec("BEGIN");
            holder.exec(lockSql, postgresql::Params::of(id));
            const Millis locked = _reg->registryNow();
            std::thread release([&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(std::max<Millis>(0, expires + 400 - locked)));
                holder.exec("COMMIT");
            });
            const auto start = std::chrono::steady_clock::now();
            const bool authorised = _reg->authorizeDownloadAt(id, wall);
            const auto waited = std::chrono::steady_clock::now() - start;
            release.join();
            CPPUNIT_ASSERT_MESSAGE(lockSql, !authorised);
            CPPUNIT_ASSERT_EQUAL(std::int64_t(0), _reg->find(id)->downloadCount);
            // Asked before expires_at (unless this machine was too slow to get
            // there in time), the gate waited for the lock and decided after it.
            if (locked < expires - 100)
                CPPUNIT_ASSERT_MESSAGE(lockSql, waited >= std::chrono::milliseconds(300));
        }
        // Not yet expired and not locked: authorised and counted.
        const std::string id = testId("gateok");
        const Millis now = _reg->registryNow();
        makeReady(*_reg, id, now, now + 60000);
        CPPUNIT_ASSERT(_reg->authorizeDownloadAt(id, wall));
        CPPUNIT_ASSERT_EQUAL(std::int64_t(1), _reg->find(id)->downloadCount);
    }

    // Verifies the advisory lock around the schema: hosts starting together
    // on an empty database all open it (CREATE ... IF NOT EXISTS alone
    // collides in pg_type).
    void testSchemaCreatedByFourInstancesAtOnce()
    {
        for (int round = 0; round < 5; ++round) {
            TestSchema fresh;
            std::atomic<int> arrived{0}, opened{0};
            std::vector<std::string> errors(4);
            std::vector<std::thread> threads;
            for (int i = 0; i < 4; ++i)
                threads.emplace_back([&, i] {
                    ++arrived;
                    while (arrived.load() < 4) std::this_thread::yield();
                    try {
                        auto reg = openRegistry(fresh.uri());
                        reg->ping();
                        ++opened;
                    } catch (const std::exception& e) {
                        errors[i] = e.what();
                    }
                });
            for (auto& t : threads) t.join();
            for (const auto& e : errors) CPPUNIT_ASSERT_EQUAL(std::string(), e);
            CPPUNIT_ASSERT_EQUAL(4, opened.load());
        }
    }

    void testUnreachableServerFailsFastWithoutPassword()
    {
        const auto start = std::chrono::steady_clock::now();
        try {
            openRegistry("postgresql://exportd:s3cret-pw@127.0.0.1:1/exportd");
            CPPUNIT_FAIL("opened a registry on a closed port");
        } catch (const RegistryError& e) {
            const std::string message = e.what();
            CPPUNIT_ASSERT_MESSAGE(message, message.find("s3cret-pw") == std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(message, message.find("host=127.0.0.1 port=1 dbname=exportd") != std::string::npos);
        }
        CPPUNIT_ASSERT(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
        // A string libpq cannot parse is refused without quoting it.
        try {
            openRegistry("postgresql://exportd:s3cret%zz@127.0.0.1:1/exportd");
            CPPUNIT_FAIL("opened a registry from an unparsable URI");
        } catch (const RegistryError& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("s3cret") == std::string::npos);
        }
    }

    // Verifies that a stopped database fails calls within a bound (never a
    // hang) and that the same registry object works again once it is back.
    void testStoppedServerFailsWithinBoundAndRegistryWorksAfterRestart()
    {
        PrivateServer server;
        auto reg = openRegistry(patient(server.uri()));
        // Several pooled connections, all of which the restart ends.
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] { makeReady(*reg, testId("rs" + std::to_string(t)), T0, T0 + 1000); });
        for (auto& t : threads) t.join();
        server.stop();
        for (int i = 0; i < 3; ++i) {
            const auto start = std::chrono::steady_clock::now();
            CPPUNIT_ASSERT_THROW(reg->find(testId("rs0")), RegistryError);
            CPPUNIT_ASSERT(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
        }
        server.start();
        for (int t = 0; t < 4; ++t) CPPUNIT_ASSERT(reg->find(testId("rs" + std::to_string(t))).has_value());
        CPPUNIT_ASSERT(reg->markFileDeleted(testId("rs1"), T0 + 1000));
    }

    // Verifies the gate across a database restart: it is never sent again
    // after a lost reply (it may have counted), so the pooled connections the
    // restart ended must be seen before sending and replaced; the download is
    // then authorised at once and counted once.
    void testGateAfterRestartCountsOnceOnAFreshConnection()
    {
        PrivateServer server;
        auto reg = openRegistry(patient(server.uri()));
        SystemClock wall;
        const std::string id = testId("gatert");
        const Millis now = reg->registryNow();
        makeReady(*reg, id, now, now + 60000);
        // Several pooled connections, all of which the restart ends.
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) threads.emplace_back([&] { CPPUNIT_ASSERT(reg->find(id).has_value()); });
        for (auto& t : threads) t.join();
        server.stop();
        server.start();
        for (int i = 1; i <= 3; ++i) {
            CPPUNIT_ASSERT(reg->authorizeDownloadAt(id, wall));
            CPPUNIT_ASSERT_EQUAL(std::int64_t(i), reg->find(id)->downloadCount);
        }
    }

    // Verifies the least rights the README promises: once the schema exists
    // (made here by the test's superuser), a database user with only SELECT,
    // INSERT, UPDATE and DELETE on its tables opens the registry (which then
    // creates nothing: even CREATE ... IF NOT EXISTS asks for CREATE) and its
    // downloads pass the gate, which runs with the caller's rights.
    void testUserWithoutCreateRightOpensACompleteSchema()
    {
        const std::string role = "dml_" + _schema->name();
        postgresql::Connection admin(_uri);
        admin.exec("CREATE ROLE " + role + " LOGIN");
        struct DropRole {
            postgresql::Connection& admin;
            std::string role;
            ~DropRole()
            {
                try {
                    admin.exec("DROP OWNED BY " + role + "; DROP ROLE " + role);
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "cannot drop role %s: %s\n", role.c_str(), e.what());
                }
            }
        } dropRole{admin, role};
        admin.exec("GRANT USAGE ON SCHEMA " + _schema->name() + " TO " + role);
        admin.exec("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + _schema->name() + " TO "
                   + role);
        auto limited = openRegistry(_uri + "&user=" + role);
        const std::string id = testId("dmlgate");
        const Millis now = limited->registryNow();
        makeReady(*limited, id, now, now + 60000);
        CPPUNIT_ASSERT(limited->authorizeDownloadAt(id, SystemClock()));
        CPPUNIT_ASSERT_EQUAL(std::int64_t(1), _reg->find(id)->downloadCount);
        // Without CREATE the same user cannot make a schema that is missing.
        admin.exec("DROP INDEX exports_due");
        CPPUNIT_ASSERT_THROW(openRegistry(_uri + "&user=" + role), RegistryError);
    }

    // Verifies that ids compare byte by byte (as SQLite does), not by the
    // database's collation: the list's order for equal times.
    void testIdsSortByteWiseWhateverTheLocale()
    {
        for (const char* id : {"b-xxxxxxxxxxxxxxxxxxxA", "B_xxxxxxxxxxxxxxxxxxxA", "a_xxxxxxxxxxxxxxxxxxxA",
                               "A-xxxxxxxxxxxxxxxxxxxA"})
            CPPUNIT_ASSERT(_reg->create(queuedRecord(id, T0), 0).outcome == CreateOutcome::Created);
        const auto list = _reg->listByListKey("alice", 10);
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), list.size());
        CPPUNIT_ASSERT_EQUAL(std::string("A-xxxxxxxxxxxxxxxxxxxA"), list[0].id);
        CPPUNIT_ASSERT_EQUAL(std::string("B_xxxxxxxxxxxxxxxxxxxA"), list[1].id);
        CPPUNIT_ASSERT_EQUAL(std::string("a_xxxxxxxxxxxxxxxxxxxA"), list[2].id);
        CPPUNIT_ASSERT_EQUAL(std::string("b-xxxxxxxxxxxxxxxxxxxA"), list[3].id);
    }

protected:
    std::string newRegistryUri() override
    {
        _schema = std::make_unique<TestSchema>();
        return _schema->uri();
    }

    void dropRegistry() override { _schema.reset(); }

private:
    std::unique_ptr<TestSchema> _schema;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(RegistryPgTest, "postgresql");
