#include "api/HealthResource.h"

#include <Poco/Logger.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

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
    struct stat st {};
    if (::stat(_context.config.exportsDir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        ok = false;
        body["export_dir"] = "error: missing";
    } else if (::access(_context.config.exportsDir.c_str(), W_OK | X_OK) != 0) {
        ok = false;
        body["export_dir"] = std::string("error: ") + std::strerror(errno);
        _context.logger.error("event=health_export_dir_error error=\"%s\"", std::string(std::strerror(errno)));
    } else {
        body["export_dir"] = "ok";
    }
    body["pending_cleanups"] = Json::Int64(_context.scheduler.pending());
    body["status"] = ok ? "ok" : "unavailable";
    return jsonResponse(ok ? 200 : 503, body);
}

} // namespace exportd
