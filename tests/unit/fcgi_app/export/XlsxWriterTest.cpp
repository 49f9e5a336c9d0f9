#include "PipelineTestSupport.h"
#include "export/RowWriter.h"

#include <cppunit/extensions/HelperMacros.h>

using namespace exportd;
using namespace exportd::test;

class XlsxWriterTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(XlsxWriterTest);
    CPPUNIT_TEST(testSheetHasHeaderAndEveryRow);
    CPPUNIT_TEST(testNumbersAreNumbersAndDatesAreDates);
    CPPUNIT_TEST(testHeaderIsBoldAndFrozen);
    CPPUNIT_TEST(testControlCharactersAndBadUtf8KeepTheXmlValid);
    CPPUNIT_TEST(testFileIsMode0640AndItsSha256IsTheFiles);
    CPPUNIT_TEST(testNoTempFilesAreLeftBehind);
    CPPUNIT_TEST(testAbandonedWriterLeavesOnlyItsClaimedFile);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _dir = std::make_unique<PipelineTempDir>();
        _path = _dir->file("x.part");
        WriterOptions options;
        options.dateColumns = {"created_at"};
        const auto store = cleanup::openDirectoryStore(_dir->path());
        auto w = makeWriter("xlsx", *store, "x.part", options);
        w->writeHeader({"id", "created_at", "email", "amount"});
        for (int i = 1; i <= 3; ++i) {
            Cell id, created, email, amount;
            id.type = Cell::Type::Integer;
            id.integer = 40 + i;
            created.type = Cell::Type::Text;
            created.text = "2026-01-02T12:00:00Z";
            email.type = Cell::Type::Text;
            email.text = i == 3 ? std::string_view("bad\x01\xff<&>") : std::string_view("a@example.org");
            amount.type = Cell::Type::Real;
            amount.real = 1.25;
            w->writeRow({id, created, email, i == 2 ? Cell{} : amount});
        }
        w->finish();
        _bytes = w->bytesWritten();
        _sha = w->sha256();
        _sheet = runCommand("unzip -p '" + _path + "' xl/worksheets/sheet1.xml");
    }
    void tearDown() override { _dir.reset(); }

    void testSheetHasHeaderAndEveryRow()
    {
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), countOccurrences(_sheet, "<row "));
        CPPUNIT_ASSERT(_sheet.find("a@example.org") != std::string::npos);
        CPPUNIT_ASSERT(_sheet.find(">email<") != std::string::npos);
    }

    void testNumbersAreNumbersAndDatesAreDates()
    {
        CPPUNIT_ASSERT(_sheet.find("<c r=\"A2\"") != std::string::npos);
        CPPUNIT_ASSERT(_sheet.find("<v>41</v>") != std::string::npos);
        CPPUNIT_ASSERT(_sheet.find("<v>1.25</v>") != std::string::npos);
        // 2026-01-02T12:00:00Z is Excel serial 46024.5, with a date style.
        CPPUNIT_ASSERT(_sheet.find("<v>46024.5</v>") != std::string::npos);
        const std::string styles = runCommand("unzip -p '" + _path + "' xl/styles.xml");
        CPPUNIT_ASSERT(styles.find("yyyy-mm-dd hh:mm:ss") != std::string::npos);
    }

    void testHeaderIsBoldAndFrozen()
    {
        CPPUNIT_ASSERT(_sheet.find("ySplit=\"1\"") != std::string::npos);
        CPPUNIT_ASSERT(_sheet.find("state=\"frozen\"") != std::string::npos);
        CPPUNIT_ASSERT(_sheet.find("<cols>") != std::string::npos);
        const std::string styles = runCommand("unzip -p '" + _path + "' xl/styles.xml");
        CPPUNIT_ASSERT(styles.find("<b/>") != std::string::npos);
    }

    void testControlCharactersAndBadUtf8KeepTheXmlValid()
    {
        CPPUNIT_ASSERT(_sheet.find('\x01') == std::string::npos);
        CPPUNIT_ASSERT(_sheet.find("bad_x0001_\xEF\xBF\xBD&lt;&amp;&gt;") != std::string::npos);
        const std::string check = runCommand("unzip -p '" + _path
                                             + "' xl/worksheets/sheet1.xml | python3 -c 'import sys, xml.dom.minidom; "
                                               "xml.dom.minidom.parseString(sys.stdin.buffer.read()); print(\"ok\")'");
        CPPUNIT_ASSERT_EQUAL(std::string("ok\n"), check);
    }

    void testFileIsMode0640AndItsSha256IsTheFiles()
    {
        const std::string content = readFile(_path);
        CPPUNIT_ASSERT_EQUAL(0640u, fileMode(_path));
        CPPUNIT_ASSERT_EQUAL(static_cast<std::uint64_t>(content.size()), _bytes);
        CPPUNIT_ASSERT_EQUAL(sha256Hex(content), _sha);
    }

    void testNoTempFilesAreLeftBehind()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("x.part\n"), runCommand("ls -A '" + _dir->path() + "'"));
    }

    // Verifies the cancel/failure path: no zip is assembled and no temp file stays.
    void testAbandonedWriterLeavesOnlyItsClaimedFile()
    {
        PipelineTempDir dir;
        {
            const auto store = cleanup::openDirectoryStore(dir.path());
            auto w = makeWriter("xlsx", *store, "y.part", WriterOptions{});
            w->writeHeader({"n"});
            Cell n;
            n.type = Cell::Type::Integer;
            for (int i = 0; i < 5000; ++i) {
                n.integer = i;
                w->writeRow({n});
            }
        }
        CPPUNIT_ASSERT_EQUAL(std::string("y.part\n"), runCommand("ls -A '" + dir.path() + "'"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), readFile(dir.file("y.part")).size());
    }

private:
    std::unique_ptr<PipelineTempDir> _dir;
    std::string _path, _sheet, _sha;
    std::uint64_t _bytes = 0;
};

CPPUNIT_TEST_SUITE_REGISTRATION(XlsxWriterTest);
