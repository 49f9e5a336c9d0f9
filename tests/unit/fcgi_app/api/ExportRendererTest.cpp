#include "api/ExportRenderer.h"
#include "export/JsonText.h"

#include <cppunit/extensions/HelperMacros.h>

#include <json/reader.h>

#include <memory>

using exportd::ExportRenderer;
using exportd::cleanup::ExportRecord;
using exportd::cleanup::ExportStatus;
using exportd::cleanup::Millis;

namespace {

const Millis T0 = 1795000000000; // 2026-11-18T...Z

Json::Value parse(const std::string& text)
{
    Json::CharReaderBuilder builder;
    builder["strictRoot"] = true;
    builder["rejectDupKeys"] = true;
    builder["failIfExtra"] = true;
    std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    Json::Value value;
    std::string errors;
    if (!reader->parse(text.data(), text.data() + text.size(), &value, &errors))
        throw std::runtime_error("not JSON: " + errors + " in " + text);
    return value;
}

ExportRecord record(ExportStatus status)
{
    ExportRecord r;
    r.id = "AAAAAAAAAAAAAAAAAAAAAA";
    r.status = status;
    r.dataset = "orders";
    r.format = "csv";
    r.filtersJson = R"({"country":"DE","customer_email":{"contains":"ö\"\\x"}})";
    r.retentionSeconds = 60;
    r.createdAt = T0;
    r.startedAt = T0 + 10;
    r.rowsWritten = 250;
    r.rowsTotal = 1000;
    r.readyAt = T0 + 1000;
    r.expiresAt = T0 + 61000;
    r.file = {"orders-20261118T000000Z.csv", 1234, 1000, "text/csv; charset=utf-8", std::string(64, 'a')};
    r.errorCode = "disk_full";
    r.errorMessage = "The disk is full: \"exports\"\n\t\x01\x1f\\ end";
    r.deletedAt = T0 + 2000;
    r.downloadCount = 3;
    return r;
}

} // namespace

/// The export object (docs/api.md, "The export object") is written as text on the hot path; these tests
/// read it back as JSON and check every status's fields, and that the bytes are
/// exactly what jsoncpp would write for the same value.
class ExportRendererTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ExportRendererTest);
    CPPUNIT_TEST(testExportTextIsJsoncppBytesForEveryStatus);
    CPPUNIT_TEST(testRunningHasProgressAndRetryFields);
    CPPUNIT_TEST(testReadyHasFileAndWholeSecondsLeft);
    CPPUNIT_TEST(testReadyPastExpiryIsReportedExpiredWithSentence);
    CPPUNIT_TEST(testDeletedAndFailedCarryTheirFields);
    CPPUNIT_TEST_SUITE_END();

public:
    void testExportTextIsJsoncppBytesForEveryStatus()
    {
        for (auto status : {ExportStatus::Queued, ExportStatus::Running, ExportStatus::Ready, ExportStatus::Expired,
                            ExportStatus::Deleted, ExportStatus::Failed}) {
            const std::string text = ExportRenderer::text(record(status), T0 + 5000);
            CPPUNIT_ASSERT_EQUAL(exportd::compactJson(parse(text)), text);
        }
    }

    void testRunningHasProgressAndRetryFields()
    {
        const Json::Value o = parse(ExportRenderer::text(record(ExportStatus::Running), T0 + 5000));
        CPPUNIT_ASSERT_EQUAL(std::string("running"), o["status"].asString());
        CPPUNIT_ASSERT_EQUAL(250, o["progress"]["rows_written"].asInt());
        CPPUNIT_ASSERT_EQUAL(1000, o["progress"]["rows_total"].asInt());
        CPPUNIT_ASSERT_DOUBLES_EQUAL(25.0, o["progress"]["percent"].asDouble(), 0.001);
        CPPUNIT_ASSERT(o.isMember("started_at"));
        CPPUNIT_ASSERT_EQUAL(std::string("ö\"\\x"), o["filters"]["customer_email"]["contains"].asString());
        CPPUNIT_ASSERT_EQUAL(std::string("/api/exports/AAAAAAAAAAAAAAAAAAAAAA/regenerate"),
                             o["links"]["regenerate"].asString());
        CPPUNIT_ASSERT(!o.isMember("file"));
    }

    void testReadyHasFileAndWholeSecondsLeft()
    {
        const Json::Value o = parse(ExportRenderer::text(record(ExportStatus::Ready), T0 + 1999));
        CPPUNIT_ASSERT_EQUAL(std::string("ready"), o["status"].asString());
        CPPUNIT_ASSERT_EQUAL(59, o["expires_in_seconds"].asInt()); // 59.001 s left, rounded down
        CPPUNIT_ASSERT_EQUAL(std::string("orders-20261118T000000Z.csv"), o["file"]["name"].asString());
        CPPUNIT_ASSERT_EQUAL(1234, o["file"]["size_bytes"].asInt());
        CPPUNIT_ASSERT_EQUAL(1000, o["file"]["rows"].asInt());
        CPPUNIT_ASSERT_EQUAL(3, o["download_count"].asInt());
        CPPUNIT_ASSERT(!o.isMember("progress"));
    }

    void testReadyPastExpiryIsReportedExpiredWithSentence()
    {
        ExportRecord r = record(ExportStatus::Ready); // the timer has not run yet
        const Json::Value o = parse(ExportRenderer::text(r, *r.expiresAt));
        CPPUNIT_ASSERT_EQUAL(std::string("expired"), o["status"].asString());
        CPPUNIT_ASSERT_EQUAL(o["expires_at"].asString(), o["expired_at"].asString());
        CPPUNIT_ASSERT(o["file_deleted_at"].isNull());
        CPPUNIT_ASSERT_EQUAL(0, o["expires_in_seconds"].asInt());
        CPPUNIT_ASSERT_EQUAL(std::string("The export file has expired and been deleted for security reasons. "
                                         "Please generate a new export."),
                             o["message"].asString());
        CPPUNIT_ASSERT(!o.isMember("file"));
    }

    void testDeletedAndFailedCarryTheirFields()
    {
        const Json::Value d = parse(ExportRenderer::text(record(ExportStatus::Deleted), T0 + 5000));
        CPPUNIT_ASSERT_EQUAL(std::string("deleted"), d["status"].asString());
        CPPUNIT_ASSERT(d.isMember("deleted_at"));
        CPPUNIT_ASSERT_EQUAL(std::string("The export file was deleted on request. Please generate a new export."),
                             d["message"].asString());
        const Json::Value f = parse(ExportRenderer::text(record(ExportStatus::Failed), T0 + 5000));
        CPPUNIT_ASSERT_EQUAL(std::string("failed"), f["status"].asString());
        CPPUNIT_ASSERT_EQUAL(std::string("disk_full"), f["error"]["code"].asString());
        CPPUNIT_ASSERT_EQUAL(std::string("The disk is full: \"exports\"\n\t\x01\x1f\\ end"), f["error"]["message"].asString());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ExportRendererTest);
