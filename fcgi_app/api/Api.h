#pragma once

#include "server/Config.h"
#include "export/Dataset.h"
#include "export/ExportRunner.h"
#include "server/Http.h"
#include "server/Router.h"
#include "api/SessionCookie.h"

#include "cleanup/CleanupScheduler.h"
#include "cleanup/Clock.h"
#include "cleanup/Metrics.h"
#include "cleanup/Registry.h"

#include <memory>
#include <mutex>
#include <string>

namespace Poco { class Logger; }

namespace exportd {

/// Holds the current dataset catalog; a SIGHUP reload swaps it. Thread-safe.
class CatalogHolder {
public:
    explicit CatalogHolder(std::shared_ptr<const DatasetCatalog> catalog) : _catalog(std::move(catalog)) {}
    std::shared_ptr<const DatasetCatalog> get() const
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _catalog;
    }
    void set(std::shared_ptr<const DatasetCatalog> catalog)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _catalog = std::move(catalog);
    }

private:
    mutable std::mutex _mutex;
    std::shared_ptr<const DatasetCatalog> _catalog;
};

/// The HTTP API of SPEC 2: every handler, the router, identity, and the one
/// place where exceptions become answers. handle() is called concurrently by
/// all request threads; the Api holds no per-request state. Lives as long as
/// the application.
class Api {
public:
    Api(const Config& config, cleanup::Registry& registry, ExportRunner& runner,
        cleanup::CleanupScheduler& scheduler, cleanup::Metrics& metrics,
        const cleanup::Clock& clock, CatalogHolder& catalog, std::string instanceId,
        Poco::Logger& logger);

    /// Answers one request. Never throws.
    Response handle(const Request& request);

    /// The export object of SPEC 2.4 at `now`, as compact JSON text.
    static std::string exportText(const cleanup::ExportRecord& record, cleanup::Millis now);
    /// The same, appended to `out`.
    static void appendExportText(std::string& out, const cleanup::ExportView& record, cleanup::Millis now);

private:
    /// `mintSession`: a request without a session gets a new one (not health or metrics).
    Identity resolveIdentity(const Request& request, bool mintSession) const;
    cleanup::ExportRecord findOwned(const std::string& id, const Identity& who);

    Response listDatasets(const Request&, const Identity&);
    Response createExport(const Request&, const Identity&);
    Response listExports(const Request&, const Identity&);
    Response getExport(const Request&, const Identity&, const std::string& id);
    Response download(const Request&, const Identity&, const std::string& id);
    Response deleteExport(const Request&, const Identity&, const std::string& id);
    Response regenerate(const Request&, const Identity&, const std::string& id);
    Response health(const Request&);
    Response metrics(const Request&);

    Response startExport(const Identity& who, const Dataset& dataset, const std::string& format,
                         const Json::Value& filters, std::int64_t retentionSeconds,
                         const std::string& requestKey);
    Response goneResponse(const Request& request, const cleanup::ExportRecord& record,
                          cleanup::Millis now);
    void requireJsonOrEmptyBody(const Request& request) const;
    void checkStorage(const Identity& who) const;
    void registerRoutes();

    Config _config;
    cleanup::Registry& _registry;
    ExportRunner& _runner;
    cleanup::CleanupScheduler& _scheduler;
    cleanup::Metrics& _metrics;
    const cleanup::Clock& _clock;
    CatalogHolder& _catalog;
    std::string _instanceId;
    Poco::Logger& _logger;
    SessionCookie _sessions;
    Router _router;
};

/// Total size and count of the export files (final and .part) in `dir`.
struct DirUsage {
    std::int64_t files = 0;
    std::int64_t bytes = 0;
};
DirUsage directoryUsage(const std::string& dir);

} // namespace exportd
