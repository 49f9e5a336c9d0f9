#include "../../cleanup/postgresql/PgTestSupport.h"

#include "export/PgRowSource.h"
#include "export/SourceSlots.h"
#include "export/JsonText.h"

#include <cppunit/extensions/HelperMacros.h>

#include <chrono>
#include <thread>

using namespace exportd;
using exportd::cleanup::test::TestSchema;
namespace pg = exportd::cleanup::postgresql;

namespace {

Json::Value json(const std::string& text)
{
    Json::Value v;
    std::string error;
    CPPUNIT_ASSERT(parseStrictJson(text, v, error));
    return v;
}

} // namespace

// PgRowSource on the test server: one snapshot for the count and the rows,
// a cancel from another thread, the connection slots.
class PgRowSourceTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PgRowSourceTest);
    CPPUNIT_TEST(testCountAndRowsSeeOneSnapshotWhileRowsArrive);
    CPPUNIT_TEST(testCancelFromAnotherThreadEndsTheStatementAtOnce);
    CPPUNIT_TEST(testSecondSlotWaitsUntilTheFirstIsGivenBack);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _schema = std::make_unique<TestSchema>();
        pg::Connection c(_schema->uri());
        c.exec("CREATE TABLE t (id bigint PRIMARY KEY, at timestamptz, note text);"
               "INSERT INTO t SELECT n, '2026-01-01Z'::timestamptz + n * interval '1 hour', 'n' || n"
               " FROM generate_series(1, 100) n");
        _catalog = std::make_unique<DatasetCatalog>(DatasetCatalog::loadString(
            R"({"datasets": {"t": {"source": ")" + _schema->uri() + R"(", "table": "t",
                "columns": ["id", "at", "note"], "order_by": "id", "filters": {"at": {"type": "date"}}},
              "sleepy": {"source": ")" + _schema->uri() + R"(", "columns": ["id"],
                "query": "SELECT id FROM t, (SELECT pg_sleep(30)) AS s"}}})", ""));
    }
    void tearDown() override
    {
        _catalog.reset();
        _schema.reset();
    }

    void testCountAndRowsSeeOneSnapshotWhileRowsArrive()
    {
        SourceSlots slots(2);
        const Dataset& ds = *_catalog->find("t");
        const SqlQuery q = buildQuery(ds, json(R"({"at": {"from": "2026-01-02"}})"));
        PgRowSource source(ds, slots.acquire(ds.sourceUri, [] {}));
        const std::int64_t total = source.count(q);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(77), total); // hours 24..100
        pg::Connection writer(_schema->uri());
        writer.exec("INSERT INTO t SELECT n, '2026-02-01Z', 'late' FROM generate_series(101, 150) n");
        source.select(q);
        std::int64_t rows = 0;
        while (source.next()) {
            ++rows;
            CPPUNIT_ASSERT(source.cells()[1].type == Cell::Type::Timestamp);
        }
        CPPUNIT_ASSERT_EQUAL(total, rows);
    }

    void testCancelFromAnotherThreadEndsTheStatementAtOnce()
    {
        SourceSlots slots(1);
        const Dataset& ds = *_catalog->find("sleepy");
        PgRowSource source(ds, slots.acquire(ds.sourceUri, [] {}));
        std::thread canceller([&source] {
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            source.cancel();
        });
        const auto started = std::chrono::steady_clock::now();
        try {
            source.count(buildQuery(ds, json("{}")));
            canceller.join();
            CPPUNIT_FAIL("a cancelled count fails");
        } catch (const SourceError& e) {
            canceller.join();
            CPPUNIT_ASSERT_EQUAL(std::string("source_error"), e.code());
        }
        CPPUNIT_ASSERT(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
    }

    void testSecondSlotWaitsUntilTheFirstIsGivenBack()
    {
        SourceSlots slots(1);
        auto first = std::make_unique<SourceSlots::Slot>(slots.acquire("s", [] {}));
        int checks = 0;
        std::thread releaser([&first] {
            std::this_thread::sleep_for(std::chrono::milliseconds(350));
            first.reset();
        });
        SourceSlots::Slot second = slots.acquire("s", [&checks] { ++checks; });
        releaser.join();
        CPPUNIT_ASSERT(checks >= 2); // it waited, checking for a stop meanwhile
        CPPUNIT_ASSERT_EQUAL(1, slots.held("s"));
        CPPUNIT_ASSERT_THROW(slots.acquire("s", [] { throw std::runtime_error("stop"); }), std::runtime_error);
        CPPUNIT_ASSERT_EQUAL(0, slots.held("other"));
    }

private:
    std::unique_ptr<TestSchema> _schema;
    std::unique_ptr<DatasetCatalog> _catalog;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(PgRowSourceTest, "postgresql");
