#include "api/ExportStarter.h"

#include "api/ExportRenderer.h"
#include "api/Storage.h"
#include "export/ExportRequest.h"
#include "export/JsonText.h"
#include "export/RequestError.h"

#include "cleanup/ExportId.h"

#include "cleanup/MetricFamilies.h"

#include <Poco/Logger.h>

#include <algorithm>

namespace exportd {

using cleanup::ExportRecord;
using cleanup::ExportStatus;
using cleanup::Millis;

Response ExportStarter::start(const Identity& who, const Dataset& dataset, const std::string& format,
                             const Json::Value& filters, std::int64_t retentionSeconds,
                             const std::string& requestKey) const
{
    const std::string filtersJson = compactJson(filters.isNull() ? Json::Value(Json::objectValue) : filters);
    if (static_cast<std::int64_t>(filtersJson.size()) > _context.config.maxFiltersBytes)
        throw RequestError(400, "invalid_request",
                           "The filters are too large to keep (" + std::to_string(filtersJson.size()) +
                               " bytes; at most " + std::to_string(_context.config.maxFiltersBytes) + ").",
                           "filters");
    checkStorage(_context, who);
    ExportRecord record;
    record.id = cleanup::newExportId();
    record.ownerKey = who.ownerKey;
    record.listKey = who.listKey;
    record.limitKey = who.limitKey;
    record.requestKey = requestKey;
    record.status = ExportStatus::Queued;
    record.dataset = dataset.name;
    record.format = format;
    record.filtersJson = filtersJson;
    record.retentionSeconds = retentionSeconds;
    record.createdAt = _context.clock.nowMs();
    record.instanceId = _context.instanceId;

    // The job queue is bounded: a place is held for this job before the
    // record exists, so a refused request creates nothing.
    if (!_context.runner.reserve(static_cast<std::size_t>(_context.config.maxQueuedExports))) {
        RequestError error(503, "server_busy",
                           "The server has too many exports waiting to run. Please try again shortly.");
        error.headers()["Retry-After"] = "5";
        throw error;
    }
    struct Reservation {
        ExportRunner& runner;
        ~Reservation() { runner.unreserve(); }
    } reservation{_context.runner};

    cleanup::CreateLimits limits;
    limits.maxActive = _context.config.maxActiveExportsPerOwner;
    limits.maxPerWindow = _context.config.maxExportsPerOwnerPerMinute;
    limits.windowMs = 60 * 1000;
    const auto result = _context.registry.create(record, limits);
    if (result.outcome == cleanup::CreateOutcome::TooMany) {
        RequestError error(429, "too_many_exports",
                           "You already have " + std::to_string(_context.config.maxActiveExportsPerOwner) +
                               " exports in progress. Please wait for one to finish.");
        error.headers()["Retry-After"] = "5";
        throw error;
    }
    if (result.outcome == cleanup::CreateOutcome::TooFast) {
        const std::int64_t seconds = std::max<std::int64_t>(1, (result.retryAfterMs + 999) / 1000);
        RequestError error(429, "too_many_requests",
                           "You started " + std::to_string(_context.config.maxExportsPerOwnerPerMinute) +
                               " exports within a minute, the most allowed. Please try again in " +
                               std::to_string(seconds) + " seconds.");
        error.headers()["Retry-After"] = std::to_string(seconds);
        throw error;
    }
    const Millis now = _context.clock.nowMs();
    Response response;
    if (result.outcome == cleanup::CreateOutcome::Existing) {
        response = jsonTextResponse(200, ExportRenderer::text(result.record, now));
    } else {
        _context.runner.submit(result.record);
        _context.metrics.increment(cleanup::family::EXPORTS_CREATED);
        _context.logger.information("event=export_created id=%s dataset=%s format=%s filter_keys=%s retention=%s",
                            record.id, record.dataset, record.format, filterKeys(filters),
                            std::to_string(retentionSeconds));
        response = jsonTextResponse(202, ExportRenderer::text(result.record, now));
        response.setHeader("Retry-After", "1");
    }
    response.setHeader("Location", "/api/exports/" + result.record.id);
    return response;
}

} // namespace exportd
