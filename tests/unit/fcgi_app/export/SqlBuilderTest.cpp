#include "export/ExportRequest.h"
#include "export/SqlBuilder.h"
#include "export/JsonText.h"
#include "PipelineTestSupport.h"

#include <cppunit/extensions/HelperMacros.h>

using namespace exportd;
using namespace exportd::test;

// Every test runs the built SQL against a small SQLite database and checks
// the rows it selects; COUNT(*) and the SELECT must always agree.
class SqlBuilderTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SqlBuilderTest);
    CPPUNIT_TEST(testNoFiltersSelectsEveryRowInOrder);
    CPPUNIT_TEST(testEqualsAndAnyOfMatchExactly);
    CPPUNIT_TEST(testInjectionStringsAreMatchedLiterally);
    CPPUNIT_TEST(testContainsIsCaseInsensitive);
    CPPUNIT_TEST(testContainsTreatsPercentAndUnderscoreLiterally);
    CPPUNIT_TEST(testContainsTreatsBackslashLiterally);
    CPPUNIT_TEST(testDateOnlyToIncludesTheWholeDay);
    CPPUNIT_TEST(testDateFromIsInclusive);
    CPPUNIT_TEST(testRfc3339OffsetsAreConvertedToUtc);
    CPPUNIT_TEST(testFractionalSecondsAreExact);
    CPPUNIT_TEST(testTimestampStorageComparesEpochSeconds);
    CPPUNIT_TEST(testIntegerEqualsAndRange);
    CPPUNIT_TEST(testFiltersAreAnded);
    CPPUNIT_TEST(testQuerySourceIsWrapped);
    CPPUNIT_TEST(testIdentifiersAreQuotedAndValuesBound);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _dir = std::make_unique<PipelineTempDir>();
        _db = _dir->file("t.db");
        makeDatabase(_db, R"(
            CREATE TABLE orders (id INTEGER PRIMARY KEY, created_at TEXT, customer_email TEXT, country TEXT,
                                 status TEXT, total_cents INTEGER, ts INTEGER);
            INSERT INTO orders VALUES (1, '2025-12-31T23:59:59Z', 'alice@example.org', 'DE', 'paid', 1000, 1767225599);
            INSERT INTO orders VALUES (2, '2026-01-01T00:00:00Z', 'BOB@Example.ORG', 'FR', 'shipped', 50000, 1767225600);
            INSERT INTO orders VALUES (3, '2026-01-31T23:59:59Z', 'c%d_e\f@x.com', 'DE', 'pending', 999, 1769903999);
            INSERT INTO orders VALUES (4, '2026-02-01T00:00:00Z', 'x'' OR 1=1 --', 'US', 'refunded', -5, 1769904000);
            INSERT INTO orders VALUES (5, '2026-06-15T12:30:00Z', 'cdxe@x.com', 'DE', 'paid', 0, 1781526600);
            INSERT INTO orders VALUES (6, NULL, NULL, NULL, NULL, NULL, NULL);
        )");
        _catalog = std::make_unique<DatasetCatalog>(DatasetCatalog::loadString(
            R"({"datasets": {"orders": {"source": "sqlite:)" + _db + R"(", "table": "orders",
                "columns": ["id", "created_at", "customer_email"], "order_by": "id DESC",
                "filters": {"status": {"type": "enum", "values": ["pending", "paid", "shipped", "refunded"]},
                            "country": {"type": "string"}, "customer_email": {"type": "string"},
                            "created_at": {"type": "date"}, "ts": {"type": "date", "date_storage": "timestamp"},
                            "total_cents": {"type": "integer"}}},
              "wrapped": {"source": "sqlite:)" + _db + R"(",
                "query": "SELECT id, lower(country) AS cc, total_cents FROM orders WHERE id <= 5",
                "columns": ["id", "cc"], "order_by": ["cc", "id"],
                "filters": {"cc": {"type": "string"}, "total_cents": {"type": "integer"}}}}})",
            ""));
        _catalog->checkSources();
    }
    void tearDown() override
    {
        _catalog.reset();
        _dir.reset();
    }

    void testNoFiltersSelectsEveryRowInOrder() { CPPUNIT_ASSERT_EQUAL(std::string("6,5,4,3,2,1"), ids("{}")); }

    void testEqualsAndAnyOfMatchExactly()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("5,3,1"), ids(R"({"country": "DE"})"));
        CPPUNIT_ASSERT_EQUAL(std::string("5,3,1"), ids(R"({"country": ["DE"]})"));
        CPPUNIT_ASSERT_EQUAL(std::string("5,3,2,1"), ids(R"({"country": ["FR", "DE", "FR"]})"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), ids(R"({"country": "de"})"));
        CPPUNIT_ASSERT_EQUAL(std::string("5,1"), ids(R"({"status": "paid"})"));
    }

    void testInjectionStringsAreMatchedLiterally()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("4"), ids(R"({"customer_email": "x' OR 1=1 --"})"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), ids(R"({"country": "DE' OR '1'='1"})"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), ids(R"({"country": "\"); DROP TABLE orders; --"})"));
        CPPUNIT_ASSERT_EQUAL(std::string("4"), ids(R"({"customer_email": {"contains": "' OR 1=1"}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("6,5,4,3,2,1"), ids("{}")); // the table is still there
    }

    void testContainsIsCaseInsensitive()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("2,1"), ids(R"({"customer_email": {"contains": "EXAMPLE.org"}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("2"), ids(R"({"customer_email": {"contains": "bob@"}})"));
    }

    void testContainsTreatsPercentAndUnderscoreLiterally()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("3"), ids(R"({"customer_email": {"contains": "%"}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("3"), ids(R"({"customer_email": {"contains": "d_e"}})")); // not cdxe
        CPPUNIT_ASSERT_EQUAL(std::string("3"), ids(R"({"customer_email": {"contains": "c%d"}})"));
    }

    void testContainsTreatsBackslashLiterally()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("3"), ids(R"({"customer_email": {"contains": "\\"}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("3"), ids(R"({"customer_email": {"contains": "e\\f"}})"));
    }

    void testDateOnlyToIncludesTheWholeDay()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("3,2,1"), ids(R"({"created_at": {"to": "2026-01-31"}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("1"), ids(R"({"created_at": {"to": "2025-12-31"}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("3,2"), ids(R"({"created_at": {"from": "2026-01-01", "to": "2026-01-31"}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("1"), ids(R"({"created_at": {"from": "2025-12-31", "to": "2025-12-31"}})"));
    }

    void testDateFromIsInclusive()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("5,4,3,2"), ids(R"({"created_at": {"from": "2026-01-01T00:00:00Z"}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("5,4"), ids(R"({"created_at": {"from": "2026-02-01"}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("2,1"), ids(R"({"created_at": {"to": "2026-01-01T00:00:00Z"}})"));
    }

    void testRfc3339OffsetsAreConvertedToUtc()
    {
        // 01:00 at +01:00 is midnight UTC.
        CPPUNIT_ASSERT_EQUAL(std::string("5,4"), ids(R"({"created_at": {"from": "2026-02-01T01:00:00+01:00"}})"));
        // 18:59:59 at -05:00 is 23:59:59 UTC.
        CPPUNIT_ASSERT_EQUAL(std::string("3,2,1"), ids(R"({"created_at": {"to": "2026-01-31T18:59:59-05:00"}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("2,1"), ids(R"({"created_at": {"to": "2026-01-31T18:59:58-05:00"}})"));
        // Crossing the year: 2026-01-01T00:30+01:00 is 2025-12-31T23:30Z.
        CPPUNIT_ASSERT_EQUAL(std::string("5,4,3,2,1"), ids(R"({"created_at": {"from": "2026-01-01T00:30:00+01:00"}})"));
    }

    void testFractionalSecondsAreExact()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("3,2,1"), ids(R"({"created_at": {"to": "2026-01-31T23:59:59.999Z"}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("5,4"), ids(R"({"created_at": {"from": "2026-01-31T23:59:59.001Z"}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("5,4,3"), ids(R"({"created_at": {"from": "2026-01-31T23:59:59.000Z"}})"));
    }

    void testTimestampStorageComparesEpochSeconds()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("3,2,1"), ids(R"({"ts": {"to": "2026-01-31"}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("5,4"), ids(R"({"ts": {"from": "2026-02-01T01:00:00+01:00"}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("3,2"), ids(R"({"ts": {"from": "2026-01-01", "to": "2026-01-31T23:59:59.5Z"}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("4,3"), ids(R"({"ts": {"from": "2026-01-31T23:59:58.5Z", "to": "2026-02-01T00:00:00Z"}})"));
    }

    void testIntegerEqualsAndRange()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("3"), ids(R"({"total_cents": 999})"));
        CPPUNIT_ASSERT_EQUAL(std::string("5,4"), ids(R"({"total_cents": {"max": 0}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("3,1"), ids(R"({"total_cents": {"min": 999, "max": 1000}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("2"), ids(R"({"total_cents": {"min": 1001}})"));
    }

    void testFiltersAreAnded()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("5,3"),
                             ids(R"({"country": "DE", "total_cents": {"max": 999}, "created_at": {"from": "2026-01-01"}})"));
    }

    void testQuerySourceIsWrapped()
    {
        const Dataset& ds = *_catalog->find("wrapped");
        SqlQuery q = buildQuery(ds, json(R"({"cc": "de", "total_cents": {"min": 1}})"));
        CPPUNIT_ASSERT_EQUAL(0, static_cast<int>(q.select.find("SELECT \"id\", \"cc\" FROM (SELECT id, lower(country)")));
        CPPUNIT_ASSERT(q.select.find(") AS src WHERE ") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("1,3"), run(q, ds)); // ORDER BY cc, id
    }

    void testIdentifiersAreQuotedAndValuesBound()
    {
        SqlQuery q = buildQuery(*_catalog->find("orders"), json(R"({"customer_email": "x' OR 1=1 --", "total_cents": 5})"));
        CPPUNIT_ASSERT_EQUAL(std::string("SELECT \"id\", \"created_at\", \"customer_email\" FROM \"orders\" WHERE "
                                         "\"customer_email\" = ? AND \"total_cents\" = ? ORDER BY \"id\" DESC"),
                             q.select);
        CPPUNIT_ASSERT_EQUAL(std::string("SELECT COUNT(*) FROM \"orders\" WHERE \"customer_email\" = ? AND "
                                         "\"total_cents\" = ?"),
                             q.count);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), q.params.size());
        CPPUNIT_ASSERT(std::get<std::string>(q.params[0]) == "x' OR 1=1 --");
        CPPUNIT_ASSERT(std::get<std::int64_t>(q.params[1]) == 5);
        CPPUNIT_ASSERT_EQUAL(std::string("\"we\"\"ird\""), quoteIdentifier("we\"ird"));
    }

private:
    static Json::Value json(const std::string& text)
    {
        Json::Value v;
        std::string error;
        if (!parseStrictJson(text, v, error))
            throw std::runtime_error(error);
        return v;
    }

    std::string ids(const std::string& filters) { return run(buildQuery(*_catalog->find("orders"), json(filters)), *_catalog->find("orders")); }

    static void bind(sqlite3_stmt* s, const std::vector<SqlParam>& params)
    {
        for (std::size_t i = 0; i < params.size(); ++i) {
            if (auto* n = std::get_if<std::int64_t>(&params[i]))
                sqlite3_bind_int64(s, static_cast<int>(i + 1), *n);
            else
                sqlite3_bind_text(s, static_cast<int>(i + 1), std::get<std::string>(params[i]).c_str(), -1, SQLITE_TRANSIENT);
        }
    }

    // The ids the SELECT returns, comma-separated; asserts COUNT(*) agrees.
    std::string run(const SqlQuery& q, const Dataset& ds)
    {
        sqlite3* db = nullptr;
        CPPUNIT_ASSERT_EQUAL(SQLITE_OK, sqlite3_open_v2(ds.sourcePath.c_str(), &db, SQLITE_OPEN_READONLY, nullptr));
        sqlite3_stmt* s = nullptr;
        CPPUNIT_ASSERT_EQUAL_MESSAGE(q.select, SQLITE_OK, sqlite3_prepare_v2(db, q.select.c_str(), -1, &s, nullptr));
        CPPUNIT_ASSERT_EQUAL(static_cast<int>(q.params.size()), sqlite3_bind_parameter_count(s));
        bind(s, q.params);
        std::string out;
        int rows = 0;
        while (sqlite3_step(s) == SQLITE_ROW) {
            out += (out.empty() ? "" : ",") + std::to_string(sqlite3_column_int64(s, 0));
            ++rows;
        }
        sqlite3_finalize(s);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(q.count, SQLITE_OK, sqlite3_prepare_v2(db, q.count.c_str(), -1, &s, nullptr));
        bind(s, q.params);
        CPPUNIT_ASSERT_EQUAL(SQLITE_ROW, sqlite3_step(s));
        CPPUNIT_ASSERT_EQUAL(rows, sqlite3_column_int(s, 0));
        sqlite3_finalize(s);
        sqlite3_close(db);
        return out;
    }

    std::unique_ptr<PipelineTempDir> _dir;
    std::string _db;
    std::unique_ptr<DatasetCatalog> _catalog;
};

CPPUNIT_TEST_SUITE_REGISTRATION(SqlBuilderTest);
