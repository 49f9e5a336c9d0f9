#include "export/PgSource.h"
#include "export/RowWriter.h"
#include "export/SqlBuilder.h"
#include "export/JsonText.h"

#include "cleanup/postgresql/Connection.h"

#include <cppunit/extensions/HelperMacros.h>

using namespace exportd;

namespace {

std::string timestamp(std::int64_t micros)
{
    std::string out;
    appendPgTimestamp(out, micros);
    return out;
}

std::string date(std::int32_t days)
{
    std::string out;
    appendPgDate(out, days);
    return out;
}

std::string bytes(std::initializer_list<int> b)
{
    std::string s;
    for (int c : b)
        s += static_cast<char>(c);
    return s;
}

Cell decode(PgColumnKind kind, const std::string& value, std::string& scratch)
{
    Cell cell;
    decodePgCell(kind, value.data(), static_cast<int>(value.size()), cell, scratch);
    return cell;
}

Json::Value json(const std::string& text)
{
    Json::Value v;
    std::string error;
    CPPUNIT_ASSERT(parseStrictJson(text, v, error));
    return v;
}

const std::string PG = "postgresql:///db?host=/tmp/none";

DatasetCatalog pgCatalog()
{
    return DatasetCatalog::loadString(R"({"datasets": {"orders": {"source": ")" + PG + R"(",
        "table": "sales.orders", "columns": ["id", "created_at"], "order_by": "id DESC",
        "filters": {"status": {"type": "enum", "values": ["paid", "shipped"]}, "email": {"type": "string"},
                    "created_at": {"type": "date"}, "created_iso": {"type": "date", "date_storage": "iso8601-utc-text"},
                    "total_cents": {"type": "integer"}}}}})", "");
}

} // namespace

// The PostgreSQL side of the export path that needs no server: the SQL
// dialect, the binary decoding, the type table and the failure codes.
class PgSourceTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PgSourceTest);
    CPPUNIT_TEST(testSqlUsesNumberedPlaceholdersAndQuotedSchemaTable);
    CPPUNIT_TEST(testContainsIsStrposOfLowerWithTheTextBoundAsSent);
    CPPUNIT_TEST(testNativeDatesAreBoundAsMicrosecondInstants);
    CPPUNIT_TEST(testIsoTextDatesStayTextOnPostgresql);
    CPPUNIT_TEST(testIntegerBoundsAreBigint);
    CPPUNIT_TEST(testDatasetSourceKindAndStatementTimeoutAreParsed);
    CPPUNIT_TEST(testUriPasswordIsNeverInTheLabel);
    CPPUNIT_TEST(testTimestampsAreRfc3339Utc);
    CPPUNIT_TEST(testDatesIncludeInfinityAndBc);
    CPPUNIT_TEST(testBinaryIntegersBooleansAndTimesDecode);
    CPPUNIT_TEST(testWrongLengthsDecodeAsTextNotPastTheValue);
    CPPUNIT_TEST(testTypeTableKindsAndExpressions);
    CPPUNIT_TEST(testFailureCodesFollowSqlstateAndConnection);
    CPPUNIT_TEST_SUITE_END();

public:
    void testSqlUsesNumberedPlaceholdersAndQuotedSchemaTable()
    {
        const DatasetCatalog c = pgCatalog();
        const SqlQuery q = buildQuery(*c.find("orders"), json(R"({"status": ["shipped", "paid"], "email": "a"})"));
        CPPUNIT_ASSERT_EQUAL(std::string("SELECT \"id\", \"created_at\" FROM \"sales\".\"orders\" WHERE \"email\" = $1"
                                         " AND \"status\" IN ($2, $3) ORDER BY \"id\" DESC"),
                             q.select);
        CPPUNIT_ASSERT_EQUAL(std::string("SELECT COUNT(*) FROM \"sales\".\"orders\" WHERE \"email\" = $1"
                                         " AND \"status\" IN ($2, $3)"),
                             q.count);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), q.params.size());
        CPPUNIT_ASSERT_EQUAL(std::string("paid"), std::get<std::string>(q.params[1]));
    }

    void testContainsIsStrposOfLowerWithTheTextBoundAsSent()
    {
        const DatasetCatalog c = pgCatalog();
        const SqlQuery q = buildQuery(*c.find("orders"), json(R"({"email": {"contains": "A%_\\'"}})"));
        CPPUNIT_ASSERT(q.select.find("WHERE strpos(lower(\"email\"), lower($1::text)) > 0") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("A%_\\'"), std::get<std::string>(q.params[0])); // no pattern escaping
    }

    void testNativeDatesAreBoundAsMicrosecondInstants()
    {
        const DatasetCatalog c = pgCatalog();
        SqlQuery q = buildQuery(*c.find("orders"),
                                json(R"({"created_at": {"from": "2026-01-01T01:00:00.0000001+01:00", "to": "2026-01-31"}})"));
        CPPUNIT_ASSERT(q.count.find("\"created_at\" >= $1::timestamptz AND \"created_at\" < $2::timestamptz")
                       != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("2026-01-01T00:00:00.000001Z"), std::get<std::string>(q.params[0]));
        CPPUNIT_ASSERT_EQUAL(std::string("2026-02-01T00:00:00.000000Z"), std::get<std::string>(q.params[1]));
        q = buildQuery(*c.find("orders"), json(R"({"created_at": {"to": "2026-01-31T10:00:00.9999999Z"}})"));
        CPPUNIT_ASSERT(q.count.find("\"created_at\" <= $1::timestamptz") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("2026-01-31T10:00:00.999999Z"), std::get<std::string>(q.params[0]));
        q = buildQuery(*c.find("orders"), json(R"({"created_at": {"to": "9999-12-31"}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("9999-12-31T23:59:59.999999Z"), std::get<std::string>(q.params[0]));
    }

    void testIsoTextDatesStayTextOnPostgresql()
    {
        const DatasetCatalog c = pgCatalog();
        const SqlQuery q = buildQuery(*c.find("orders"), json(R"({"created_iso": {"from": "2026-01-01"}})"));
        CPPUNIT_ASSERT(q.count.find("\"created_iso\" >= $1") != std::string::npos);
        CPPUNIT_ASSERT(q.count.find("timestamptz") == std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("2026-01-01T00:00:00Z"), std::get<std::string>(q.params[0]));
    }

    void testIntegerBoundsAreBigint()
    {
        const DatasetCatalog c = pgCatalog();
        SqlQuery q = buildQuery(*c.find("orders"), json(R"({"total_cents": {"min": 1, "max": 9000000000}})"));
        CPPUNIT_ASSERT(q.count.find("\"total_cents\" >= $1::bigint AND \"total_cents\" <= $2::bigint")
                       != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(9000000000), std::get<std::int64_t>(q.params[1]));
        q = buildQuery(*c.find("orders"), json(R"({"total_cents": 7})"));
        CPPUNIT_ASSERT(q.count.find("\"total_cents\" = $1::bigint") != std::string::npos);
    }

    void testDatasetSourceKindAndStatementTimeoutAreParsed()
    {
        const DatasetCatalog c = DatasetCatalog::loadString(R"({"datasets": {"d": {"source": ")" + PG + R"(",
            "table": "t", "columns": ["a"], "statement_timeout_ms": 1500,
            "filters": {"at": {"type": "date"}}}}})", "");
        const Dataset& d = *c.find("d");
        CPPUNIT_ASSERT(d.sourceKind == SourceKind::PostgreSQL);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(1500), d.statementTimeoutMs);
        CPPUNIT_ASSERT(d.filters[0].dateStorage == DateStorage::Timestamp); // native unless it says text
        CPPUNIT_ASSERT_THROW(DatasetCatalog::loadString(R"({"datasets": {"d": {"source": ")" + PG + R"(",
            "table": "t", "columns": ["a"], "statement_timeout_ms": -1}}})", ""), ConfigError);
        CPPUNIT_ASSERT_THROW(DatasetCatalog::loadString(R"({"datasets": {"d": {"source": "mysql://x/y",
            "table": "t", "columns": ["a"]}}})", ""), ConfigError);
    }

    void testUriPasswordIsNeverInTheLabel()
    {
        const DatasetCatalog c = DatasetCatalog::loadString(R"({"datasets": {"d": {
            "source": "postgresql://bob:s3cret@db.example:6543/shop", "table": "t", "columns": ["a"]}}})", "");
        const std::string label = c.find("d")->sourceLabel;
        CPPUNIT_ASSERT_EQUAL(std::string("host=db.example port=6543 dbname=shop user=bob"), label);
        try {
            DatasetCatalog::loadString(R"({"datasets": {"d": {"source": "postgresql://bob:s3cret@[bad",
                "table": "t", "columns": ["a"]}}})", "");
            CPPUNIT_FAIL("an unparsable URI is refused");
        } catch (const ConfigError& e) {
            CPPUNIT_ASSERT(std::string(e.what()).find("s3cret") == std::string::npos);
        }
    }

    void testTimestampsAreRfc3339Utc()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("2000-01-01T00:00:00Z"), timestamp(0));
        CPPUNIT_ASSERT_EQUAL(std::string("1999-12-31T23:59:59.999999Z"), timestamp(-1));
        CPPUNIT_ASSERT_EQUAL(std::string("2000-01-01T00:00:00.5Z"), timestamp(500000));
        CPPUNIT_ASSERT_EQUAL(std::string("1970-01-01T00:00:00Z"), timestamp(-946684800LL * 1000000));
        CPPUNIT_ASSERT_EQUAL(std::string("2026-03-01T10:34:56.789Z"), timestamp(825676496789000LL));
        CPPUNIT_ASSERT_EQUAL(std::string("infinity"), timestamp(INT64_MAX));
        CPPUNIT_ASSERT_EQUAL(std::string("-infinity"), timestamp(INT64_MIN));
    }

    void testDatesIncludeInfinityAndBc()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("2000-01-01"), date(0));
        CPPUNIT_ASSERT_EQUAL(std::string("2026-02-28"), date(9555));
        CPPUNIT_ASSERT_EQUAL(std::string("0001-01-01"), date(-730119));
        CPPUNIT_ASSERT_EQUAL(std::string("0001-12-31 BC"), date(-730120)); // year 0 is 1 BC
        CPPUNIT_ASSERT_EQUAL(std::string("10000-01-01"), date(2921940));
        CPPUNIT_ASSERT_EQUAL(std::string("infinity"), date(INT32_MAX));
        CPPUNIT_ASSERT_EQUAL(std::string("-infinity"), date(INT32_MIN));
    }

    void testBinaryIntegersBooleansAndTimesDecode()
    {
        std::string scratch;
        Cell c = decode(PgColumnKind::Int2, bytes({0x80, 0x00}), scratch);
        CPPUNIT_ASSERT(c.type == Cell::Type::Integer);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(-32768), c.integer);
        c = decode(PgColumnKind::Int4, bytes({0xff, 0xff, 0xff, 0xfe}), scratch);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(-2), c.integer);
        c = decode(PgColumnKind::Int8, bytes({0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), scratch);
        CPPUNIT_ASSERT_EQUAL(INT64_MAX, c.integer);
        c = decode(PgColumnKind::Bool, bytes({1}), scratch);
        CPPUNIT_ASSERT(c.type == Cell::Type::Boolean && c.integer == 1);
        c = decode(PgColumnKind::Timestamp, bytes({0, 0, 0, 0, 0, 0x07, 0xa1, 0x20}), scratch);
        CPPUNIT_ASSERT(c.type == Cell::Type::Timestamp);
        CPPUNIT_ASSERT_EQUAL(std::string("2000-01-01T00:00:00.5Z"), std::string(c.text));
        c = decode(PgColumnKind::Date, bytes({0, 0, 0, 1}), scratch);
        CPPUNIT_ASSERT(c.type == Cell::Type::Date);
        CPPUNIT_ASSERT_EQUAL(std::string("2000-01-02"), std::string(c.text));
        const std::string numeric = "-1.50";
        c = decode(PgColumnKind::Numeric, numeric, scratch);
        CPPUNIT_ASSERT(c.type == Cell::Type::Numeric);
        CPPUNIT_ASSERT_EQUAL(std::string("-1.50"), std::string(c.text));
        const std::string array = "[1,null]";
        c = decode(PgColumnKind::JsonArray, array, scratch);
        CPPUNIT_ASSERT(c.type == Cell::Type::Json);
    }

    void testWrongLengthsDecodeAsTextNotPastTheValue()
    {
        std::string scratch;
        const Cell c = decode(PgColumnKind::Int8, bytes({1, 2}), scratch);
        CPPUNIT_ASSERT(c.type == Cell::Type::Text);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), c.text.size());
    }

    void testTypeTableKindsAndExpressions()
    {
        auto kind = [](const char* name, char category = 'X', const char* element = "") {
            return kindOf(PgTypeInfo{1, name, category, 'b', element});
        };
        CPPUNIT_ASSERT(kind("int4") == PgColumnKind::Int4);
        CPPUNIT_ASSERT(kind("timestamptz") == PgColumnKind::Timestamp);
        CPPUNIT_ASSERT(kind("timestamp") == PgColumnKind::Timestamp);
        CPPUNIT_ASSERT(kind("numeric") == PgColumnKind::Numeric);
        CPPUNIT_ASSERT(kind("float8") == PgColumnKind::Numeric);
        CPPUNIT_ASSERT(kind("jsonb") == PgColumnKind::Json);
        CPPUNIT_ASSERT(kind("uuid") == PgColumnKind::Text);
        CPPUNIT_ASSERT(kind("my_enum") == PgColumnKind::Text);
        CPPUNIT_ASSERT(kind("bytea") == PgColumnKind::Refused);
        CPPUNIT_ASSERT(kind("_int4", 'A', "int4") == PgColumnKind::JsonArray);
        CPPUNIT_ASSERT(kind("_bytea", 'A', "bytea") == PgColumnKind::Refused);
        CPPUNIT_ASSERT_EQUAL(std::string("\"a\""), pgSelectExpression("\"a\"", PgColumnKind::Timestamp));
        CPPUNIT_ASSERT_EQUAL(std::string("\"a\"::text"), pgSelectExpression("\"a\"", PgColumnKind::Numeric));
        CPPUNIT_ASSERT_EQUAL(std::string("to_json(\"a\")::text"), pgSelectExpression("\"a\"", PgColumnKind::JsonArray));
    }

    void testFailureCodesFollowSqlstateAndConnection()
    {
        using cleanup::postgresql::PgError;
        CPPUNIT_ASSERT_EQUAL(std::string("source_unavailable"),
                             pgFailureCode(PgError("cannot connect: Connection refused", "", true)));
        CPPUNIT_ASSERT_EQUAL(std::string("source_refused"),
                             pgFailureCode(PgError("FATAL: password authentication failed for user", "", true)));
        CPPUNIT_ASSERT_EQUAL(std::string("source_refused"),
                             pgFailureCode(PgError("role \"x\" is not permitted to log in", "", true)));
        CPPUNIT_ASSERT_EQUAL(std::string("source_refused"), pgFailureCode(PgError("permission denied", "42501", false)));
        CPPUNIT_ASSERT_EQUAL(std::string("source_timeout"),
                             pgFailureCode(PgError("canceling statement due to statement timeout", "57014", false)));
        CPPUNIT_ASSERT_EQUAL(std::string("source_error"),
                             pgFailureCode(PgError("canceling statement due to user request", "57014", false)));
        CPPUNIT_ASSERT_EQUAL(std::string("source_unavailable"),
                             pgFailureCode(PgError("terminating connection due to administrator command", "57P01",
                                                   true)));
        CPPUNIT_ASSERT_EQUAL(std::string("source_error"), pgFailureCode(PgError("column does not exist", "42703", false)));
        CPPUNIT_ASSERT_EQUAL(std::string("source_error"),
                             pgFailureCode(PgError("cannot execute INSERT in a read-only transaction", "25006", false)));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PgSourceTest);
