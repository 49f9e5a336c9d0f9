#include "PipelineTestSupport.h"
#include "export/RowWriter.h"

#include <cppunit/extensions/HelperMacros.h>

#include <cstdlib>

using namespace exportd;
using namespace exportd::test;

namespace {

Cell text(std::string_view t)
{
    Cell c;
    c.type = Cell::Type::Text;
    c.text = t;
    return c;
}

Cell integer(std::int64_t v)
{
    Cell c;
    c.type = Cell::Type::Integer;
    c.integer = v;
    return c;
}

Cell real(double v)
{
    Cell c;
    c.type = Cell::Type::Real;
    c.real = v;
    return c;
}

std::string field(const Cell& c, bool guard = true)
{
    std::string out;
    appendCsvField(out, c, guard);
    return out;
}

} // namespace

class CsvWriterTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CsvWriterTest);
    CPPUNIT_TEST(testPlainTextIsWrittenAsIs);
    CPPUNIT_TEST(testFieldsWithCommaQuoteCrOrLfAreQuoted);
    CPPUNIT_TEST(testFieldsWithSemicolonOrTabAreQuoted);
    CPPUNIT_TEST(testFormulaGuardPrefixesDangerousText);
    CPPUNIT_TEST(testFormulaGuardAppliesBeforeQuoting);
    CPPUNIT_TEST(testFormulaGuardOffLeavesTextAlone);
    CPPUNIT_TEST(testNumbersAreNumbersAndNeverGuarded);
    CPPUNIT_TEST(testNullIsAnEmptyField);
    CPPUNIT_TEST(testInvalidUtf8IsReplaced);
    CPPUNIT_TEST(testFileHasHeaderCrlfMode0640AndItsSha256);
    CPPUNIT_TEST(testLargeFileThroughASmallBufferIsComplete);
    CPPUNIT_TEST(testExistingFileIsNeverOverwritten);
    CPPUNIT_TEST(testDiskFullHookFailsAsDiskFull);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _dir = std::make_unique<PipelineTempDir>();
        _store = cleanup::openDirectoryStore(_dir->path());
    }
    void tearDown() override
    {
        ::unsetenv("EXPORTD_FAULT_DISK_FULL_AFTER_BYTES");
        _store.reset();
        _dir.reset();
    }

    void testPlainTextIsWrittenAsIs()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("hello world"), field(text("hello world")));
        CPPUNIT_ASSERT_EQUAL(std::string("Grüße ✓"), field(text("Grüße ✓")));
        CPPUNIT_ASSERT_EQUAL(std::string(""), field(text("")));
        CPPUNIT_ASSERT_EQUAL(std::string("a'b"), field(text("a'b")));
    }

    void testFieldsWithCommaQuoteCrOrLfAreQuoted()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("\"a,b\""), field(text("a,b")));
        CPPUNIT_ASSERT_EQUAL(std::string("\"say \"\"hi\"\"\""), field(text("say \"hi\"")));
        CPPUNIT_ASSERT_EQUAL(std::string("\"a\nb\""), field(text("a\nb")));
        CPPUNIT_ASSERT_EQUAL(std::string("\"a\r\nb\""), field(text("a\r\nb")));
        CPPUNIT_ASSERT_EQUAL(std::string("\"\"\"\""), field(text("\"")));
        CPPUNIT_ASSERT_EQUAL(std::string("\"ü,\"\"\""), field(text("ü,\"")));
    }

    // Verifies that a `;` or TAB cannot split a value into a second cell: Excel in
    // locales whose list separator is `;` (or a tab-separated reading) would
    // otherwise start a new, unguarded cell there.
    void testFieldsWithSemicolonOrTabAreQuoted()
    {
        // Quoted, and the cell a `;` or TAB reader would start there guarded too.
        CPPUNIT_ASSERT_EQUAL(std::string("\"x;'=cmd|' /C calc'!A0\""), field(text("x;=cmd|' /C calc'!A0")));
        CPPUNIT_ASSERT_EQUAL(std::string("\"x\t'=cmd|' /C calc'!A0\""), field(text("x\t=cmd|' /C calc'!A0")));
        CPPUNIT_ASSERT_EQUAL(std::string("\"a;b\n'+1\r\n'@x;'\t'-2\""), field(text("a;b\n+1\r\n@x;\t-2")));
        CPPUNIT_ASSERT_EQUAL(std::string("\"a; =b\""), field(text("a; =b")));
        CPPUNIT_ASSERT_EQUAL(std::string("\";\""), field(text(";")));
        CPPUNIT_ASSERT_EQUAL(std::string("\"a;\"\"b\"\"\""), field(text("a;\"b\"")));
        // The leading-character guard still applies to a quoted field.
        CPPUNIT_ASSERT_EQUAL(std::string("\"'=1;2\""), field(text("=1;2")));
        CPPUNIT_ASSERT_EQUAL(std::string("\"'@a\tb\""), field(text("@a\tb")));
        // Quoting is not part of the guard: it stays when the dataset turns the guard off.
        CPPUNIT_ASSERT_EQUAL(std::string("\"x;=cmd\""), field(text("x;=cmd"), false));
        CPPUNIT_ASSERT_EQUAL(std::string("\"\t=cmd\""), field(text("\t=cmd"), false));
    }

    void testFormulaGuardPrefixesDangerousText()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("'=1+1"), field(text("=1+1")));
        CPPUNIT_ASSERT_EQUAL(std::string("'+49 30 1234"), field(text("+49 30 1234")));
        CPPUNIT_ASSERT_EQUAL(std::string("'-5"), field(text("-5")));
        CPPUNIT_ASSERT_EQUAL(std::string("'@SUM(A1)"), field(text("@SUM(A1)")));
        CPPUNIT_ASSERT_EQUAL(std::string("\"'\tx\""), field(text("\tx"))); // guarded, and quoted for its TAB
        CPPUNIT_ASSERT_EQUAL(std::string("a=1"), field(text("a=1")));
    }

    void testFormulaGuardAppliesBeforeQuoting()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""),
                             field(text("=HYPERLINK(\"http://x\",\"y\")")));
        CPPUNIT_ASSERT_EQUAL(std::string("\"'\rx\""), field(text("\rx")));
    }

    void testFormulaGuardOffLeavesTextAlone()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("=1+1"), field(text("=1+1"), false));
        CPPUNIT_ASSERT_EQUAL(std::string("\"=1,1\""), field(text("=1,1"), false));
    }

    void testNumbersAreNumbersAndNeverGuarded()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("-5"), field(integer(-5)));
        CPPUNIT_ASSERT_EQUAL(std::string("-9223372036854775808"), field(integer(INT64_MIN)));
        CPPUNIT_ASSERT_EQUAL(std::string("0.1"), field(real(0.1)));
        CPPUNIT_ASSERT_EQUAL(std::string("-2.5"), field(real(-2.5)));
        CPPUNIT_ASSERT_EQUAL(std::string("0.30000000000000004"), field(real(0.1 + 0.2)));
        CPPUNIT_ASSERT_EQUAL(0.1 + 0.2, std::strtod(field(real(0.1 + 0.2)).c_str(), nullptr));
    }

    void testNullIsAnEmptyField() { CPPUNIT_ASSERT_EQUAL(std::string(""), field(Cell{})); }

    void testInvalidUtf8IsReplaced()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("a\xEF\xBF\xBD" "b"), field(text("a\xff" "b")));
        CPPUNIT_ASSERT_EQUAL(std::string("\"\xEF\xBF\xBD,\""), field(text("\xc3,")));
    }

    void testFileHasHeaderCrlfMode0640AndItsSha256()
    {
        const std::string path = _dir->file("a.part");
        auto w = makeWriter("csv", *_store, "a.part", WriterOptions{});
        w->writeHeader({"id", "name", "note"});
        w->writeRow({integer(1), text("Ann, B."), text("=cmd")});
        w->writeRow({integer(2), Cell{}, real(1.5)});
        w->finish();
        const std::string content = readFile(path);
        CPPUNIT_ASSERT_EQUAL(std::string("id,name,note\r\n1,\"Ann, B.\",'=cmd\r\n2,,1.5\r\n"), content);
        CPPUNIT_ASSERT_EQUAL(static_cast<std::uint64_t>(content.size()), w->bytesWritten());
        CPPUNIT_ASSERT_EQUAL(sha256Hex(content), w->sha256());
        CPPUNIT_ASSERT_EQUAL(0640u, fileMode(path));
    }

    void testLargeFileThroughASmallBufferIsComplete()
    {
        const std::string path = _dir->file("big.part");
        WriterOptions options;
        options.bufferBytes = 4096;
        auto w = makeWriter("csv", *_store, "big.part", options);
        w->writeHeader({"n", "s"});
        const std::string longText(1000, 'x');
        for (int i = 0; i < 20000; ++i)
            w->writeRow({integer(i), text(i % 100 == 0 ? std::string_view(longText) : std::string_view("row"))});
        w->finish();
        const std::string content = readFile(path);
        CPPUNIT_ASSERT_EQUAL(std::size_t(20001), countOccurrences(content, "\r\n"));
        CPPUNIT_ASSERT_EQUAL(static_cast<std::uint64_t>(content.size()), w->bytesWritten());
        CPPUNIT_ASSERT_EQUAL(sha256Hex(content), w->sha256());
    }

    void testExistingFileIsNeverOverwritten()
    {
        const std::string path = _dir->file("taken");
        {
            std::ofstream(path) << "keep";
        }
        try {
            makeWriter("csv", *_store, "taken", WriterOptions{});
            CPPUNIT_FAIL("expected a WriteError");
        } catch (const WriteError& e) {
            CPPUNIT_ASSERT(!e.diskFull());
        }
        CPPUNIT_ASSERT_EQUAL(std::string("keep"), readFile(path));
    }

    // Verifies the documented fault hook: past N bytes the writer fails exactly as ENOSPC.
    void testDiskFullHookFailsAsDiskFull()
    {
        ::setenv("EXPORTD_FAULT_DISK_FULL_AFTER_BYTES", "10000", 1);
        WriterOptions options;
        options.bufferBytes = 4096;
        auto w = makeWriter("ndjson", *_store, "full.part", options);
        w->writeHeader({"n"});
        try {
            for (int i = 0; i < 100000; ++i)
                w->writeRow({integer(i)});
            w->finish();
            CPPUNIT_FAIL("expected a disk-full WriteError");
        } catch (const WriteError& e) {
            CPPUNIT_ASSERT(e.diskFull());
        }
        CPPUNIT_ASSERT(readFile(_dir->file("full.part")).size() <= 10000);
    }

private:
    std::unique_ptr<PipelineTempDir> _dir;
    std::unique_ptr<cleanup::FileStore> _store;
};

CPPUNIT_TEST_SUITE_REGISTRATION(CsvWriterTest);
