#include "api/Api.h"

#include "api/SessionCookie.h"
#include "export/RequestError.h"

#include "cleanup/ExportId.h"

#include "cleanup/MetricFamilies.h"

#include <Poco/Logger.h>

namespace exportd {

Api::Api(const Config& config, cleanup::Registry& registry, ExportRunner& runner,
         cleanup::CleanupScheduler& scheduler, cleanup::FileStore& store, cleanup::Metrics& metrics,
         const cleanup::Clock& clock, CatalogHolder& catalog, std::string instanceId,
         Poco::Logger& logger)
    : _context{config, registry, runner, scheduler, store, metrics, clock, catalog, std::move(instanceId), logger},
      // Every process of the registry signs and verifies with the same key.
      _identity(config, registry.sharedSecret("session_cookie", cleanup::newExportId() + cleanup::newExportId())),
      _datasets(_context), _exports(_context), _export(_context), _download(_context), _regenerate(_context),
      _health(_context), _metricsResource(_context)
{
    registerRoutes();
}

void Api::registerRoutes()
{
    using Args = std::vector<std::string>;
    _router.add("GET", "/api/datasets",
                [this](const Request& r, const Identity& who, const Args&) { return _datasets.get(r, who); });
    _router.add("POST", "/api/exports",
                [this](const Request& r, const Identity& who, const Args&) { return _exports.create(r, who); });
    _router.add("GET", "/api/exports",
                [this](const Request& r, const Identity& who, const Args&) { return _exports.list(r, who); });
    _router.add("GET", "/api/exports/{id}",
                [this](const Request& r, const Identity& who, const Args& a) { return _export.get(r, who, a.at(0)); });
    _router.add("DELETE", "/api/exports/{id}",
                [this](const Request& r, const Identity& who, const Args& a) { return _export.remove(r, who, a.at(0)); });
    auto download = [this](const Request& r, const Identity& who, const Args& a) { return _download.get(r, who, a.at(0)); };
    _router.add("GET", "/api/exports/{id}/download", download);
    _router.add("HEAD", "/api/exports/{id}/download", download);
    _router.add("POST", "/api/exports/{id}/regenerate",
                [this](const Request& r, const Identity& who, const Args& a) { return _regenerate.post(r, who, a.at(0)); });
    _router.add("GET", "/api/health", [this](const Request& r, const Identity&, const Args&) { return _health.get(r); });
    _router.add("GET", "/api/metrics", [this](const Request& r, const Identity&, const Args&) { return _metricsResource.get(r); });
}

Response Api::handle(const Request& request)
{
    Response response;
    Identity who;
    try {
        const auto segments = splitPath(request.path);
        // Health checks and metric scrapes come from machines: they need no
        // credentials (metrics are for loopback only, in the nginx snippet)
        // and are given no session.
        const bool forMachines = segments.size() == 2 && segments[0] == "api"
            && (segments[1] == "health" || segments[1] == "metrics");
        who = _identity.resolve(request, !forMachines);
        if (_context.config.requireIdentity && who.user.empty() && !forMachines) {
            response = errorResponse(401, "unauthorized", "This service needs you to sign in.");
            response.setHeader("WWW-Authenticate", "Basic realm=\"exportd\"");
        } else {
            response = _router.dispatch(request, who);
        }
    } catch (const RequestError& e) {
        response = errorResponse(e.status(), e.code(), e.what(), e.field());
        for (const auto& [name, value] : e.headers())
            response.setHeader(name, value);
    } catch (const cleanup::RegistryError& e) {
        _context.logger.error("event=registry_error method=%s path=%s error=\"%s\"", request.method, request.path,
                      std::string(e.what()));
        response = errorResponse(503, "registry_unavailable",
                                 "The export registry is busy or unavailable. Please try again shortly.");
        response.setHeader("Retry-After", "1");
    } catch (const std::exception& e) {
        _context.logger.error("event=internal_error method=%s path=%s error=\"%s\"", request.method, request.path,
                      std::string(e.what()));
        response = errorResponse(500, "internal_error", "Something went wrong on our side.");
    }
    if (!who.newCookie.empty())
        response.headers.emplace_back("Set-Cookie", SessionCookie::setCookie(request, who.newCookie));
    if (response.header("X-Accel-Redirect").empty()) // the file location adds its own
        response.setHeader("Cache-Control", "no-store");
    _context.metrics.increment(cleanup::family::REQUESTS, "code=\"" + std::to_string(response.status) + "\"");
    return response;
}

} // namespace exportd
