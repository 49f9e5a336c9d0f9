#include "PipelineTestSupport.h"
#include "export/RowWriter.h"

#include <cppunit/extensions/HelperMacros.h>

using namespace exportd;
using namespace exportd::test;

namespace {

Cell typed(Cell::Type type, std::string_view text, std::int64_t integer = 0)
{
    Cell c;
    c.type = type;
    c.text = text;
    c.integer = integer;
    return c;
}

std::string csv(const Cell& c)
{
    std::string out;
    appendCsvField(out, c, true);
    return out;
}

std::string json(const Cell& c)
{
    std::string out;
    appendJsonValue(out, c);
    return out;
}

} // namespace

// The typed cells of a PostgreSQL source (boolean, numeric, date, timestamp,
// JSON) in each writer: what docs/operations.md's type table promises.
class TypedCellsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(TypedCellsTest);
    CPPUNIT_TEST(testCsvWritesBooleansWordsNumericsAsIsJsonAsGuardedText);
    CPPUNIT_TEST(testNdjsonNestsJsonOnOneLineAndKeepsEveryDigit);
    CPPUNIT_TEST(testXlsxKeepsBooleansDatesAndExactNumbersTyped);
    CPPUNIT_TEST_SUITE_END();

public:
    void testCsvWritesBooleansWordsNumericsAsIsJsonAsGuardedText()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("true"), csv(typed(Cell::Type::Boolean, "", 1)));
        CPPUNIT_ASSERT_EQUAL(std::string("false"), csv(typed(Cell::Type::Boolean, "", 0)));
        CPPUNIT_ASSERT_EQUAL(std::string("-12345678901234567890.10"), csv(typed(Cell::Type::Numeric, "-12345678901234567890.10")));
        CPPUNIT_ASSERT_EQUAL(std::string("2026-01-02T03:04:05Z"), csv(typed(Cell::Type::Timestamp, "2026-01-02T03:04:05Z")));
        CPPUNIT_ASSERT_EQUAL(std::string("'-infinity"), csv(typed(Cell::Type::Date, "-infinity")));
        CPPUNIT_ASSERT_EQUAL(std::string("\"{\"\"a\"\": [1, 2]}\""), csv(typed(Cell::Type::Json, "{\"a\": [1, 2]}")));
        CPPUNIT_ASSERT_EQUAL(std::string("'-5"), csv(typed(Cell::Type::Json, "-5")));
    }

    void testNdjsonNestsJsonOnOneLineAndKeepsEveryDigit()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("true"), json(typed(Cell::Type::Boolean, "", 1)));
        CPPUNIT_ASSERT_EQUAL(std::string("12345678901234567890.123456789"),
                             json(typed(Cell::Type::Numeric, "12345678901234567890.123456789")));
        CPPUNIT_ASSERT_EQUAL(std::string("-2.5e-07"), json(typed(Cell::Type::Numeric, "-2.5e-07")));
        CPPUNIT_ASSERT_EQUAL(std::string("\"NaN\""), json(typed(Cell::Type::Numeric, "NaN")));
        CPPUNIT_ASSERT_EQUAL(std::string("\"-Infinity\""), json(typed(Cell::Type::Numeric, "-Infinity")));
        CPPUNIT_ASSERT_EQUAL(std::string("\"2026-01-02\""), json(typed(Cell::Type::Date, "2026-01-02")));
        CPPUNIT_ASSERT_EQUAL(std::string("{\"k\":    \"v\"}"), json(typed(Cell::Type::Json, "{\"k\":\r\n  \"v\"}")));
        CPPUNIT_ASSERT_EQUAL(std::string("[1,null]"), json(typed(Cell::Type::Json, "[1,null]")));
    }

    void testXlsxKeepsBooleansDatesAndExactNumbersTyped()
    {
        PipelineTempDir dir;
        const std::string path = dir.file("t.part");
        const auto store = cleanup::openDirectoryStore(dir.path());
        auto w = makeWriter("xlsx", *store, "t.part", WriterOptions{});
        w->writeHeader({"flag", "day", "at", "exact", "inexact", "float", "nan", "bc"});
        w->writeRow({typed(Cell::Type::Boolean, "", 1), typed(Cell::Type::Date, "2026-01-02"),
                     typed(Cell::Type::Timestamp, "2026-01-02T12:00:00.5Z"), typed(Cell::Type::Numeric, "1.50"),
                     typed(Cell::Type::Numeric, "12345678901234567.1"), typed(Cell::Type::Numeric, "1e+20"),
                     typed(Cell::Type::Numeric, "NaN"), typed(Cell::Type::Timestamp, "0044-03-15T00:00:00Z BC")});
        w->finish();
        const std::string sheet = runCommand("unzip -p '" + path + "' xl/worksheets/sheet1.xml");
        CPPUNIT_ASSERT(sheet.find("<c r=\"A2\" t=\"b\"><v>1</v></c>") != std::string::npos);
        CPPUNIT_ASSERT(sheet.find("<v>46024</v>") != std::string::npos);                // the date's serial
        CPPUNIT_ASSERT(sheet.find("<v>46024.50000578") != std::string::npos);           // noon and half a second
        CPPUNIT_ASSERT(sheet.find("<c r=\"D2\"><v>1.5</v></c>") != std::string::npos);  // exact: a number
        CPPUNIT_ASSERT(sheet.find("12345678901234567.1</t>") != std::string::npos);     // a double cannot: text
        CPPUNIT_ASSERT(sheet.find("<c r=\"F2\"><v>1E+20</v></c>") != std::string::npos);
        CPPUNIT_ASSERT(sheet.find("NaN</t>") != std::string::npos);
        CPPUNIT_ASSERT(sheet.find("0044-03-15T00:00:00Z BC</t>") != std::string::npos); // before Excel's dates: text
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(TypedCellsTest);
