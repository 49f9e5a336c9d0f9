#include "api/DownloadResource.h"

#include "api/ExportRenderer.h"
#include "api/HandlerSupport.h"
#include "export/RequestError.h"
#include "cleanup/MetricFamilies.h"

#include <algorithm>
#include <cctype>

namespace exportd {

using cleanup::ExportRecord;
using cleanup::ExportStatus;
using cleanup::Millis;

namespace {

/// How far this host's clock may be ahead of the registry's (see get()).
constexpr Millis GATE_CLOCK_MARGIN_MS = 1000;

const char* const FILES_LOCATION = "/_exportd/files/";

Json::Value optionalTime(const std::optional<Millis>& t)
{
    return t ? Json::Value(cleanup::formatRfc3339(*t)) : Json::Value(Json::nullValue);
}

// A GET is a new download unless it asks for a range that does not start at
// byte 0: the later parts of a resumed or multi-connection download are the
// same download (README "Downloads"). A Range nginx would ignore counts.
bool startsADownload(const std::string& range)
{
    if (range.compare(0, 6, "bytes=") != 0)
        return true;
    std::size_t i = 6;
    while (i < range.size() && range[i] == ' ')
        ++i;
    if (i < range.size() && range[i] == '-')
        return false; // the last N bytes
    std::size_t j = i;
    while (j < range.size() && range[j] >= '0' && range[j] <= '9')
        ++j;
    if (j == i || j >= range.size() || range[j] != '-')
        return true;
    return std::all_of(range.begin() + static_cast<std::ptrdiff_t>(i), range.begin() + static_cast<std::ptrdiff_t>(j),
                       [](char c) { return c == '0'; });
}

std::string safeFileName(const std::string& name)
{
    std::string out;
    for (char c : name)
        out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') ? c : '_';
    return out.empty() ? "export" : out;
}

} // namespace

Response DownloadResource::gone(const Request& request, const ExportRecord& record, Millis now) const
{
    const bool deleted = record.effectiveStatus(now) == ExportStatus::Deleted;
    const std::string sentence = deleted ? ExportRenderer::DELETED_SENTENCE : ExportRenderer::EXPIRED_SENTENCE;
    if (prefersHtml(request)) {
        Response r;
        r.status = 410;
        r.setHeader("Content-Type", "text/html; charset=utf-8");
        const std::string page = htmlEscape(_context.config.pageUrl);
        r.body = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                 "<title>Export no longer available</title>"
                 "<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em;"
                 "line-height:1.5}a{font-weight:bold}</style></head><body>"
                 "<h1>Export no longer available</h1><p>" +
                 htmlEscape(sentence) + "</p><p><a href=\"" + page + "\">Generate a new export</a></p></body></html>\n";
        return r;
    }
    Json::Value extra(Json::objectValue);
    if (!deleted)
        extra["expired_at"] = optionalTime(record.expiresAt);
    else
        extra["deleted_at"] = optionalTime(record.deletedAt);
    Json::Value links(Json::objectValue);
    links["regenerate"] = "/api/exports/" + record.id + "/regenerate";
    extra["links"] = links;
    return errorResponse(410, deleted ? "export_deleted" : "export_expired", sentence, "", extra);
}

Response DownloadResource::get(const Request& request, const Identity& who, const std::string& id)
{
    ExportRecord record = findOwned(_context, id, who);
    Millis now = _context.clock.nowMs();
    auto status = record.effectiveStatus(now);

    // nginx found no file behind an authorised X-Accel-Redirect (it was deleted
    // a moment after exportd said yes): answer as gone, never with a 404 page.
    if (!request.param("EXPORTD_FILE_GONE").empty()) {
        if (status == ExportStatus::Deleted)
            return gone(request, record, now);
        if (!record.expiresAt)
            return errorResponse(410, "export_expired", ExportRenderer::EXPIRED_SENTENCE);
        if (status == ExportStatus::Ready)
            record.expiresAt = std::min(*record.expiresAt, now);
        return gone(request, record, std::max(now, *record.expiresAt));
    }

    // This host's clock is the registry's to within its measurement error
    // (cleanup::RegistryClock): a ready record that looks expired by less than
    // a second is left to the gate, whose clock decides (docs/operations.md,
    // Several hosts), so no download is refused before its expires_at.
    const bool marginal = status == ExportStatus::Expired && record.status == ExportStatus::Ready
                          && record.expiresAt && *record.expiresAt > now - GATE_CLOCK_MARGIN_MS;
    if (marginal) status = ExportStatus::Ready;

    if (status == ExportStatus::Ready) {
        const bool isHead = request.method == "HEAD";
        const bool counts = !isHead && startsADownload(request.header("range"));
        // The gate: one conditional update decides, at access time. HEAD
        // authorises nothing; a continued range is decided but not counted.
        if ((isHead && !marginal) || (counts ? _context.registry.authorizeDownloadAt(id, _context.clock) : _context.registry.checkDownloadAt(id, _context.clock))) {
            if (!isHead)
                _context.metrics.increment(cleanup::family::DOWNLOAD_AUTHORIZATIONS);
            if (counts)
                _context.metrics.increment(cleanup::family::DOWNLOADS);
            Response r;
            r.status = 200;
            r.setHeader("X-Accel-Redirect", std::string(FILES_LOCATION) + id);
            r.setHeader("Content-Type", record.file.contentType);
            // nginx's file location turns this into Content-Disposition (and
            // adds Cache-Control and nosniff): see nginx/exportd.conf.
            r.setHeader("X-Exportd-Disposition", "attachment; filename=\"" + safeFileName(record.file.name) + "\"");
            return r;
        }
        auto again = _context.registry.find(id);
        if (!again)
            throw RequestError(404, "not_found", "No export with this id exists for you.");
        record = *again;
        now = std::max(_context.clock.nowMs(), now);
        status = record.effectiveStatus(now);
        if (status == ExportStatus::Ready) // cannot happen: the gate said no
            status = ExportStatus::Expired;
    }
    switch (status) {
    case ExportStatus::Expired:
    case ExportStatus::Deleted:
        return gone(request, record, now);
    case ExportStatus::Queued:
    case ExportStatus::Running: {
        Json::Value extra(Json::objectValue);
        extra["status"] = cleanup::toString(status);
        Response r = errorResponse(409, "not_ready", "The export is not ready yet. Please try again shortly.", "", extra);
        r.setHeader("Retry-After", "1");
        return r;
    }
    case ExportStatus::Failed: {
        Json::Value extra(Json::objectValue);
        extra["status"] = "failed";
        Json::Value err(Json::objectValue);
        err["code"] = record.errorCode;
        err["message"] = record.errorMessage;
        extra["export_error"] = err;
        return errorResponse(409, "export_failed", "The export failed: " + record.errorMessage, "", extra);
    }
    default:
        break;
    }
    return gone(request, record, now);
}

} // namespace exportd
