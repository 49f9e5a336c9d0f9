#pragma once

#include "api/ApiContext.h"
#include "api/DatasetsResource.h"
#include "api/DownloadResource.h"
#include "api/ExportResource.h"
#include "api/ExportsResource.h"
#include "api/HealthResource.h"
#include "api/IdentityResolver.h"
#include "api/MetricsResource.h"
#include "api/RegenerateResource.h"
#include "server/Http.h"
#include "server/Router.h"

#include <string>

namespace exportd {

/// The HTTP API (docs/api.md): the routes to one handler class per resource,
/// identity, and the one place where exceptions become answers. handle() is
/// called concurrently by all request threads; the Api holds no per-request
/// state. Lives as long as the application.
class Api {
public:
    Api(const Config& config, cleanup::Registry& registry, ExportRunner& runner,
        cleanup::CleanupScheduler& scheduler, cleanup::FileStore& store, cleanup::Metrics& metrics,
        const cleanup::Clock& clock, CatalogHolder& catalog, std::string instanceId,
        Poco::Logger& logger);

    /// Answers one request. Never throws.
    Response handle(const Request& request);

private:
    void registerRoutes();

    ApiContext _context;
    IdentityResolver _identity;
    DatasetsResource _datasets;
    ExportsResource _exports;
    ExportResource _export;
    DownloadResource _download;
    RegenerateResource _regenerate;
    HealthResource _health;
    MetricsResource _metricsResource;
    Router _router;
};

} // namespace exportd
