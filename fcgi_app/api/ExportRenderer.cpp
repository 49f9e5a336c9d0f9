#include "api/ExportRenderer.h"

#include "export/JsonText.h"

#include <json/writer.h>

#include <algorithm>
#include <cmath>

namespace exportd {

using cleanup::ExportRecord;
using cleanup::ExportStatus;
using cleanup::ExportView;
using cleanup::Millis;

const char* const ExportRenderer::EXPIRED_SENTENCE =
    "The export file has expired and been deleted for security reasons. Please generate a new export.";
const char* const ExportRenderer::DELETED_SENTENCE =
    "The export file was deleted on request. Please generate a new export.";

Response jsonTextResponse(int status, std::string text)
{
    Response r;
    r.status = status;
    r.setHeader("Content-Type", "application/json");
    r.body = std::move(text);
    r.body += '\n';
    return r;
}

Response ExportRenderer::response(int status, const ExportRecord& record, Millis now)
{
    return jsonTextResponse(status, text(record, now));
}

// The export object is written as text, not built as a Json::Value: a status
// poll and the page's list are the hot paths, and jsoncpp's tree and writer
// made them several times slower than the responder baseline
// (bench/RESULTS.md). Keys come in jsoncpp's order (sorted), values in its
// format, so the bytes are those it wrote.
std::string ExportRenderer::text(const ExportRecord& r, Millis now)
{
    std::string o;
    o.reserve(640 + r.filtersJson.size());
    append(o, r.view(), now);
    return o;
}

void ExportRenderer::append(std::string& out, const ExportView& r, Millis now)
{
    const ExportStatus status = r.effectiveStatus(now);
    const bool queued = status == ExportStatus::Queued, running = status == ExportStatus::Running;
    const bool ready = status == ExportStatus::Ready, expired = status == ExportStatus::Expired;
    const bool deleted = status == ExportStatus::Deleted, failed = status == ExportStatus::Failed;
    JsonTextWriter o(out, 1024 + r.filtersJson.size());
    bool first = true;
    auto key = [&o, &first](std::string_view name) {
        o.raw(first ? std::string_view("\"") : std::string_view(",\""));
        first = false;
        o.raw(name);
        o.raw("\":");
    };
    auto time = [&o](const std::optional<Millis>& t) {
        if (t)
            o.time(*t);
        else
            o.raw("null");
    };
    o.raw('{');
    key("created_at"), o.time(r.createdAt);
    key("dataset"), o.quoted(r.dataset);
    if (deleted)
        key("deleted_at"), time(r.deletedAt);
    key("download_count"), o.integer(r.downloadCount);
    if (failed) {
        key("error");
        o.raw("{\"code\":"), o.quoted(r.errorCode);
        o.raw(",\"message\":"), o.quoted(r.errorMessage);
        o.raw('}');
    }
    if (expired)
        key("expired_at"), time(r.expiresAt);
    if (ready || expired) {
        key("expires_at"), time(r.expiresAt);
        const Millis left = ready && r.expiresAt ? *r.expiresAt - now : 0;
        key("expires_in_seconds"), o.integer(left > 0 ? left / 1000 : 0);
    }
    if (failed)
        key("failed_at"), time(r.failedAt);
    if (ready) {
        key("file");
        o.raw("{\"content_type\":"), o.quoted(r.fileContentType);
        o.raw(",\"name\":"), o.quoted(r.fileName);
        o.raw(",\"rows\":"), o.integer(r.fileRows);
        o.raw(",\"sha256\":"), o.quoted(r.fileSha256);
        o.raw(",\"size_bytes\":"), o.integer(r.fileSizeBytes);
        o.raw('}');
    }
    if (expired || deleted)
        key("file_deleted_at"), time(r.fileDeletedAt);
    // Stored as the compact text of the validated filters (startExport).
    key("filters"), o.raw(r.filtersJson.empty() ? std::string_view("{}") : r.filtersJson);
    key("format"), o.quoted(r.format);
    key("id"), o.quoted(r.id);
    // Ids are of the id alphabet (22 characters of A-Z a-z 0-9 - _, see cleanup::isMintedId): the links need no escaping.
    key("links");
    o.raw("{\"download\":\"/api/exports/"), o.raw(r.id), o.raw("/download\"");
    o.raw(",\"regenerate\":\"/api/exports/"), o.raw(r.id), o.raw("/regenerate\"");
    o.raw(",\"self\":\"/api/exports/"), o.raw(r.id), o.raw("\"}");
    if (expired || deleted)
        key("message"), o.raw('"'), o.raw(expired ? EXPIRED_SENTENCE : DELETED_SENTENCE), o.raw('"');
    if (queued || running) {
        key("progress");
        o.raw("{\"percent\":");
        if (r.rowsTotal && *r.rowsTotal > 0)
            o.raw(Json::valueToString(
                std::min(100.0, std::floor(1000.0 * double(r.rowsWritten) / double(*r.rowsTotal)) / 10.0)));
        else
            o.raw(r.rowsTotal ? "0.0" : "null");
        o.raw(",\"rows_total\":");
        if (r.rowsTotal)
            o.integer(*r.rowsTotal);
        else
            o.raw("null");
        o.raw(",\"rows_written\":"), o.integer(r.rowsWritten);
        o.raw('}');
    }
    if (ready || expired)
        key("ready_at"), time(r.readyAt);
    key("retention_seconds"), o.integer(r.retentionSeconds);
    if (running)
        key("started_at"), time(r.startedAt);
    key("status"), o.quoted(cleanup::toString(status));
    o.raw('}');
}

} // namespace exportd
