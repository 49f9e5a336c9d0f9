#include "export/JsonText.h"
#include "PipelineTestSupport.h"
#include "export/RowWriter.h"

#include <cppunit/extensions/HelperMacros.h>

#include <cmath>
#include <limits>

using namespace exportd;
using namespace exportd::test;

namespace {

std::string value(Cell::Type type, std::string_view text = {}, std::int64_t i = 0, double r = 0)
{
    Cell c;
    c.type = type;
    c.text = text;
    c.integer = i;
    c.real = r;
    std::string out;
    appendJsonValue(out, c);
    return out;
}

std::string str(std::string_view t) { return value(Cell::Type::Text, t); }

} // namespace

class NdjsonWriterTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(NdjsonWriterTest);
    CPPUNIT_TEST(testStringsAreEscaped);
    CPPUNIT_TEST(testControlCharactersUseUnicodeEscapes);
    CPPUNIT_TEST(testValidUtf8PassesThrough);
    CPPUNIT_TEST(testInvalidUtf8BecomesReplacementCharacter);
    CPPUNIT_TEST(testNumbersAndNull);
    CPPUNIT_TEST(testNonFiniteRealsBecomeNull);
    CPPUNIT_TEST(testFileHasOneObjectPerLineKeyedByColumn);
    CPPUNIT_TEST_SUITE_END();

public:
    void testStringsAreEscaped()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("\"plain\""), str("plain"));
        CPPUNIT_ASSERT_EQUAL(std::string("\"a\\\"b\\\\c\""), str("a\"b\\c"));
        CPPUNIT_ASSERT_EQUAL(std::string("\"l1\\nl2\\r\\tx\""), str("l1\nl2\r\tx"));
        CPPUNIT_ASSERT_EQUAL(std::string("\"</script>\""), str("</script>"));
    }

    void testControlCharactersUseUnicodeEscapes()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("\"\\u0001\\u001f\\b\\f\\u0000\""), str(std::string_view("\x01\x1f\b\f\0", 5)));
        CPPUNIT_ASSERT_EQUAL(std::string("\"\x7f\""), str("\x7f"));
    }

    void testValidUtf8PassesThrough()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("\"Grüße – 日本 🎉\""), str("Grüße – 日本 🎉"));
    }

    void testInvalidUtf8BecomesReplacementCharacter()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("\"a\xEF\xBF\xBD" "b\""), str("a\xff" "b"));
        CPPUNIT_ASSERT_EQUAL(std::string("\"\xEF\xBF\xBD\xEF\xBF\xBD\""), str("\xc0\xaf"));          // overlong
        CPPUNIT_ASSERT_EQUAL(std::string("\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""), str("\xed\xa0\x80")); // surrogate
        CPPUNIT_ASSERT_EQUAL(std::string("\"x\xEF\xBF\xBD\xEF\xBF\xBD\""), str("x\xe2\x82")); // truncated: one per byte
        Json::Value parsed;
        std::string error;
        CPPUNIT_ASSERT(parseStrictJson("{\"v\":" + str("\xfe\xed\xa0\x80ok") + "}", parsed, error));
    }

    void testNumbersAndNull()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("null"), value(Cell::Type::Null));
        CPPUNIT_ASSERT_EQUAL(std::string("-42"), value(Cell::Type::Integer, {}, -42));
        CPPUNIT_ASSERT_EQUAL(std::string("0.1"), value(Cell::Type::Real, {}, 0, 0.1));
        CPPUNIT_ASSERT_EQUAL(std::string("1e+300"), value(Cell::Type::Real, {}, 0, 1e300));
    }

    void testNonFiniteRealsBecomeNull()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("null"), value(Cell::Type::Real, {}, 0, std::numeric_limits<double>::infinity()));
        CPPUNIT_ASSERT_EQUAL(std::string("null"), value(Cell::Type::Real, {}, 0, std::nan("")));
    }

    void testFileHasOneObjectPerLineKeyedByColumn()
    {
        PipelineTempDir dir;
        const std::string path = dir.file("x.part");
        const auto store = cleanup::openDirectoryStore(dir.path());
        auto w = makeWriter("ndjson", *store, "x.part", WriterOptions{});
        w->writeHeader({"id", "na\"me", "amount"});
        Cell id, name, amount;
        id.type = Cell::Type::Integer;
        id.integer = 7;
        name.type = Cell::Type::Text;
        name.text = "=x\n";
        amount.type = Cell::Type::Real;
        amount.real = 2.5;
        w->writeRow({id, name, amount});
        w->writeRow({id, Cell{}, Cell{}});
        w->finish();
        const std::string content = readFile(path);
        CPPUNIT_ASSERT_EQUAL(std::string("{\"id\":7,\"na\\\"me\":\"=x\\n\",\"amount\":2.5}\n{\"id\":7,\"na\\\"me\":null,\"amount\":null}\n"),
                             content);
        CPPUNIT_ASSERT_EQUAL(sha256Hex(content), w->sha256());
        CPPUNIT_ASSERT_EQUAL(static_cast<std::uint64_t>(content.size()), w->bytesWritten());
        CPPUNIT_ASSERT_EQUAL(0640u, fileMode(path));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(NdjsonWriterTest);
