#include "PgTestSupport.h"

#include "cleanup/postgresql/Connection.h"

#include <chrono>
#include <thread>

using namespace exportd::cleanup;
using namespace exportd::cleanup::postgresql;
using namespace exportd::cleanup::test;

class ConnectionTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ConnectionTest);
    CPPUNIT_TEST(testDefaultsAreAddedWhereTheUserSetNone);
    CPPUNIT_TEST(testUserSettingsWinOverDefaults);
    CPPUNIT_TEST(testPreparedStatementIsPreparedOncePerConnection);
    CPPUNIT_TEST(testParamsBindTextIntegersAndNull);
    CPPUNIT_TEST(testErrorCarriesSqlStateAndKeepsConnectionUsable);
    CPPUNIT_TEST(testCancelFromAnotherThreadEndsStatement);
    CPPUNIT_TEST(testDescriptionNeverHoldsThePassword);
    CPPUNIT_TEST_SUITE_END();

public:
    void testDefaultsAreAddedWhereTheUserSetNone()
    {
        Connection c(patient(testServerUri()));
        const Result r = c.exec("SELECT current_setting('statement_timeout'), current_setting('application_name')");
        CPPUNIT_ASSERT_EQUAL(std::string("3s"), r.text(0, 0));
        CPPUNIT_ASSERT_EQUAL(std::string("exportd"), r.text(0, 1));
    }

    void testUserSettingsWinOverDefaults()
    {
        Connection c(patient(testServerUri()) + "&application_name=mine&options=-c%20statement_timeout%3D7000");
        const Result r = c.exec("SELECT current_setting('statement_timeout'), current_setting('application_name')");
        CPPUNIT_ASSERT_EQUAL(std::string("7s"), r.text(0, 0));
        CPPUNIT_ASSERT_EQUAL(std::string("mine"), r.text(0, 1));
    }

    void testPreparedStatementIsPreparedOncePerConnection()
    {
        Connection c(patient(testServerUri()));
        for (int i = 0; i < 3; ++i)
            CPPUNIT_ASSERT_EQUAL(std::int64_t(i + 1), c.execPrepared("next", "SELECT $1::bigint + 1", Params::of(i)).integer(0, 0));
        const Result r = c.exec("SELECT count(*) FROM pg_prepared_statements WHERE name = 'next'");
        CPPUNIT_ASSERT_EQUAL(std::int64_t(1), r.integer(0, 0));
    }

    void testParamsBindTextIntegersAndNull()
    {
        Connection c(patient(testServerUri()));
        const Result r = c.exec("SELECT $1::text, $2::bigint, $3::bigint IS NULL, $4::boolean",
                                Params::of(std::string("a \"quoted\" ' text"), std::int64_t(1795000000000),
                                           std::optional<std::int64_t>(), true));
        CPPUNIT_ASSERT_EQUAL(std::string("a \"quoted\" ' text"), r.text(0, 0));
        CPPUNIT_ASSERT_EQUAL(std::int64_t(1795000000000), r.integer(0, 1));
        CPPUNIT_ASSERT(r.boolean(0, 2) && r.boolean(0, 3));
        CPPUNIT_ASSERT(r.optInteger(0, 1).has_value());
        CPPUNIT_ASSERT(!c.exec("SELECT NULL::bigint").optInteger(0, 0).has_value());
    }

    void testErrorCarriesSqlStateAndKeepsConnectionUsable()
    {
        Connection c(patient(testServerUri()));
        try {
            c.exec("SELECT 1 / 0");
            CPPUNIT_FAIL("no error");
        } catch (const PgError& e) {
            CPPUNIT_ASSERT_EQUAL(std::string("22012"), e.sqlState());
            CPPUNIT_ASSERT(!e.connectionLost() && !e.retryable());
        }
        CPPUNIT_ASSERT(c.usable());
        CPPUNIT_ASSERT_EQUAL(std::int64_t(2), c.exec("SELECT 2").integer(0, 0));
    }

    void testCancelFromAnotherThreadEndsStatement()
    {
        Connection c(patient(testServerUri()));
        std::thread canceller([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            c.cancel();
        });
        const auto start = std::chrono::steady_clock::now();
        try {
            c.exec("SELECT pg_sleep(2.5)");
            CPPUNIT_FAIL("not cancelled");
        } catch (const PgError& e) {
            CPPUNIT_ASSERT_EQUAL(std::string("57014"), e.sqlState());
        }
        canceller.join();
        CPPUNIT_ASSERT(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500));
        CPPUNIT_ASSERT(c.usable());
    }

    void testDescriptionNeverHoldsThePassword()
    {
        const std::string d = describeConnectionString("postgresql://u:pw-123@db.example:6543/reg?sslmode=require");
        CPPUNIT_ASSERT_EQUAL(std::string("host=db.example port=6543 dbname=reg user=u"), d);
        CPPUNIT_ASSERT_EQUAL(std::string("host=/run/postgresql port=(default) dbname=x user=(default)"),
                             describeConnectionString("host=/run/postgresql dbname=x password=pw-123"));
        try {
            Connection c("host=127.0.0.1 port=1 dbname=x user=u password=pw-123");
            CPPUNIT_FAIL("connected to a closed port");
        } catch (const PgError& e) {
            CPPUNIT_ASSERT(e.connectionLost());
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("pw-123") == std::string::npos);
        }
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(ConnectionTest, "postgresql");
