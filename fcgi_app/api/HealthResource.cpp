#include "api/HealthResource.h"

#include <Poco/Logger.h>

namespace exportd {

using cleanup::ExportRecord;
using cleanup::ExportStatus;
using cleanup::ExportView;
using cleanup::Millis;

Response HealthResource::get(const Request&)
{
    Json::Value body(Json::objectValue);
    bool ok = true;
    try {
        _context.registry.ping();
        body["registry"] = "ok";
    } catch (const std::exception& e) {
        // Unauthenticated callers get a sentence; the details (which may name
        // the registry's path or host) go to the log.
        ok = false;
        body["registry"] = "error: unavailable";
        _context.logger.error("event=health_registry_error error=\"%s\"", std::string(e.what()));
    }
    const std::string problem = _context.store.problem();
    if (!problem.empty()) {
        ok = false;
        body["export_dir"] = "error: " + problem;
        _context.logger.error("event=health_export_dir_error error=\"%s\"", problem);
    } else {
        body["export_dir"] = "ok";
    }
    body["pending_cleanups"] = Json::Int64(_context.scheduler.pending());
    body["status"] = ok ? "ok" : "unavailable";
    return jsonResponse(ok ? 200 : 503, body);
}

} // namespace exportd
