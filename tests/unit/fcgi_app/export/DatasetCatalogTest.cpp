#include "export/Dataset.h"
#include "PipelineTestSupport.h"
#include "export/ConfigError.h"

#include <cppunit/extensions/HelperMacros.h>

using namespace exportd;
using namespace exportd::test;

class DatasetCatalogTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DatasetCatalogTest);
    CPPUNIT_TEST(testValidCatalogLoadsEveryField);
    CPPUNIT_TEST(testRelativeSourceResolvesAgainstTheDatasetsFile);
    CPPUNIT_TEST(testBadFilterTypeNamesItsPath);
    CPPUNIT_TEST(testUnknownKeyIsRejectedWithItsPath);
    CPPUNIT_TEST(testTableAndQueryTogetherAreRejected);
    CPPUNIT_TEST(testEnumWithoutValuesIsRejected);
    CPPUNIT_TEST(testValuesOnANonEnumFilterAreRejected);
    CPPUNIT_TEST(testDateStorageMustBeKnown);
    CPPUNIT_TEST(testSourceMustUseTheSqliteOrPostgresqlScheme);
    CPPUNIT_TEST(testQueryWithASemicolonIsRejected);
    CPPUNIT_TEST(testQueryThatIsNotASelectIsRejected);
    CPPUNIT_TEST(testInvalidJsonIsAConfigError);
    CPPUNIT_TEST(testCheckSourcesAcceptsExistingColumns);
    CPPUNIT_TEST(testCheckSourcesRejectsAMissingColumn);
    CPPUNIT_TEST(testCheckSourcesRejectsAMissingFilterField);
    CPPUNIT_TEST(testCheckSourcesRejectsAMissingOrderByColumn);
    CPPUNIT_TEST(testCheckSourcesRejectsAMissingSourceFile);
    CPPUNIT_TEST(testCheckSourcesChecksAQuerysColumns);
    CPPUNIT_TEST(testAllowedOwnersRestrictTheDataset);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _dir = std::make_unique<PipelineTempDir>();
        _db = _dir->file("demo.db");
        makeOrdersDatabase(_db, 3);
    }
    void tearDown() override { _dir.reset(); }

    void testValidCatalogLoadsEveryField()
    {
        auto catalog = DatasetCatalog::loadString(ordersCatalogJson(_db, R"(, "csv_formula_guard": false)"), "");
        const Dataset* ds = catalog.find("orders");
        CPPUNIT_ASSERT(ds);
        CPPUNIT_ASSERT_EQUAL(std::string("Orders"), ds->title);
        CPPUNIT_ASSERT_EQUAL(_db, ds->sourcePath);
        CPPUNIT_ASSERT_EQUAL(std::string("orders"), ds->table);
        CPPUNIT_ASSERT_EQUAL(std::size_t(8), ds->columns.size());
        CPPUNIT_ASSERT_EQUAL(std::string("id"), ds->orderBy);
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), ds->filters.size());
        CPPUNIT_ASSERT(ds->filter("status")->type == FilterType::Enum);
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), ds->filter("status")->values.size());
        CPPUNIT_ASSERT(ds->filter("created_at")->type == FilterType::Date);
        CPPUNIT_ASSERT(ds->filter("total_cents")->type == FilterType::Integer);
        CPPUNIT_ASSERT(!ds->csvFormulaGuard);
        CPPUNIT_ASSERT(ds->allows("anyone"));
        CPPUNIT_ASSERT(!catalog.find("nope"));
    }

    void testRelativeSourceResolvesAgainstTheDatasetsFile()
    {
        auto catalog = DatasetCatalog::loadString(ordersCatalogJson("demo.db"), _dir->file("datasets.json"));
        CPPUNIT_ASSERT_EQUAL(_db, catalog.find("orders")->sourcePath);
        catalog.checkSources();
    }

    void testBadFilterTypeNamesItsPath()
    {
        std::string json = ordersCatalogJson(_db);
        json.replace(json.find("\"type\": \"enum\""), 14, "\"type\": \"list\"");
        expectError(json, "datasets.orders.filters.status.type: must be one of enum, string, date, integer");
    }

    void testUnknownKeyIsRejectedWithItsPath()
    {
        expectError(ordersCatalogJson(_db, R"(, "colour": "red")"), "datasets.orders.colour: unknown key");
        std::string json = ordersCatalogJson(_db);
        json.replace(json.find("\"type\": \"integer\""), 17, "\"type\": \"integer\", \"max\": 5");
        expectError(json, "datasets.orders.filters.total_cents.max: unknown key");
    }

    void testTableAndQueryTogetherAreRejected()
    {
        expectError(ordersCatalogJson(_db, R"(, "query": "SELECT * FROM orders")"),
                    "datasets.orders: exactly one of \"table\" and \"query\" is required");
    }

    void testEnumWithoutValuesIsRejected()
    {
        expectError(R"({"datasets": {"o": {"source": "sqlite:/x.db", "table": "t", "columns": ["a"],
                     "filters": {"a": {"type": "enum"}}}}})",
                    "datasets.o.filters.a.values: is required for an enum filter");
    }

    void testValuesOnANonEnumFilterAreRejected()
    {
        expectError(R"({"datasets": {"o": {"source": "sqlite:/x.db", "table": "t", "columns": ["a"],
                     "filters": {"a": {"type": "string", "values": ["x"]}}}}})",
                    "datasets.o.filters.a.values: is only allowed for an enum filter");
    }

    void testDateStorageMustBeKnown()
    {
        expectError(R"({"datasets": {"o": {"source": "sqlite:/x.db", "table": "t", "columns": ["a"],
                     "filters": {"a": {"type": "date", "date_storage": "local"}}}}})",
                    "datasets.o.filters.a.date_storage: must be one of iso8601-utc-text, timestamp");
    }

    void testSourceMustUseTheSqliteOrPostgresqlScheme()
    {
        expectError(R"({"datasets": {"o": {"source": "/x.db", "table": "t", "columns": ["a"]}}})",
                    "datasets.o.source: must be \"sqlite:<path>\" or \"postgresql://...\"");
    }

    void testQueryWithASemicolonIsRejected()
    {
        expectError(R"({"datasets": {"o": {"source": "sqlite:/x.db", "query": "SELECT 1 AS a; DELETE FROM t",
                     "columns": ["a"]}}})",
                    "datasets.o.query: must be a single SELECT statement, without ';'");
    }

    void testQueryThatIsNotASelectIsRejected()
    {
        expectError(R"({"datasets": {"o": {"source": "sqlite:/x.db", "query": "DELETE FROM t", "columns": ["a"]}}})",
                    "datasets.o.query: must be a single read-only SELECT statement");
    }

    void testInvalidJsonIsAConfigError()
    {
        expectErrorPrefix("{\"datasets\": {", "datasets_file x.json: The body is not valid JSON");
    }

    void testCheckSourcesAcceptsExistingColumns()
    {
        DatasetCatalog::loadString(ordersCatalogJson(_db), "").checkSources();
    }

    void testCheckSourcesRejectsAMissingColumn()
    {
        std::string json = ordersCatalogJson(_db);
        json.replace(json.find("\"currency\"]"), 10, "\"colour\"");
        expectSourceError(json, "datasets.orders.columns[7]: no column \"colour\" in table \"orders\"");
    }

    void testCheckSourcesRejectsAMissingFilterField()
    {
        std::string json = ordersCatalogJson(_db);
        json.replace(json.find("\"country\": {"), 9, "\"region\"");
        expectSourceError(json, "datasets.orders.filters.region: no column \"region\" in table \"orders\"");
    }

    void testCheckSourcesRejectsAMissingOrderByColumn()
    {
        std::string json = ordersCatalogJson(_db);
        json.replace(json.find("\"order_by\": \"id\""), 16, "\"order_by\": \"created_at DESC, rank\"");
        expectSourceError(json, "datasets.orders.order_by: no column \"rank\" in table \"orders\"");
    }

    void testCheckSourcesRejectsAMissingSourceFile()
    {
        auto catalog = DatasetCatalog::loadString(ordersCatalogJson(_dir->file("missing.db")), "");
        try {
            catalog.checkSources();
            CPPUNIT_FAIL("expected a ConfigError");
        } catch (const ConfigError& e) {
            CPPUNIT_ASSERT_EQUAL(std::size_t(0), std::string(e.what()).find("datasets.orders.source: cannot open"));
        }
        CPPUNIT_ASSERT(!fileExists(_dir->file("missing.db")));
    }

    void testCheckSourcesChecksAQuerysColumns()
    {
        const std::string base = R"({"datasets": {"q": {"source": "sqlite:)" + _db
            + R"(", "query": "SELECT id, upper(country) AS cc FROM orders WHERE id > 1",)";
        DatasetCatalog::loadString(base + R"( "columns": ["id", "cc"], "filters": {"cc": {"type": "string"}}}}})", "")
            .checkSources();
        expectSourceError(base + R"( "columns": ["id", "country"]}}})",
                          "datasets.q.columns[1]: no column \"country\" in the query's result");
    }

    void testAllowedOwnersRestrictTheDataset()
    {
        auto catalog = DatasetCatalog::loadString(ordersCatalogJson(_db, R"(, "allowed_owners": ["alice"])"), "");
        CPPUNIT_ASSERT(catalog.find("orders")->allows("alice"));
        CPPUNIT_ASSERT(!catalog.find("orders")->allows("bob"));
    }

private:
    void expectError(const std::string& json, const std::string& message)
    {
        try {
            DatasetCatalog::loadString(json, "x.json");
            CPPUNIT_FAIL("expected a ConfigError: " + message);
        } catch (const ConfigError& e) {
            CPPUNIT_ASSERT_EQUAL(message, std::string(e.what()));
        }
    }

    void expectErrorPrefix(const std::string& json, const std::string& prefix)
    {
        try {
            DatasetCatalog::loadString(json, "x.json");
            CPPUNIT_FAIL("expected a ConfigError: " + prefix);
        } catch (const ConfigError& e) {
            CPPUNIT_ASSERT_EQUAL(prefix, std::string(e.what()).substr(0, prefix.size()));
        }
    }

    void expectSourceError(const std::string& json, const std::string& message)
    {
        auto catalog = DatasetCatalog::loadString(json, "");
        try {
            catalog.checkSources();
            CPPUNIT_FAIL("expected a ConfigError: " + message);
        } catch (const ConfigError& e) {
            CPPUNIT_ASSERT_EQUAL(message, std::string(e.what()));
        }
    }

    std::unique_ptr<PipelineTempDir> _dir;
    std::string _db;
};

CPPUNIT_TEST_SUITE_REGISTRATION(DatasetCatalogTest);
