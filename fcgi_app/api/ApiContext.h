#pragma once

#include "export/Dataset.h"
#include "export/ExportRunner.h"
#include "server/Config.h"

#include "cleanup/CleanupScheduler.h"
#include "cleanup/Clock.h"
#include "cleanup/FileStore.h"
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

/// What every handler of the API works with: the configuration and the
/// services of the process. Built once by Api, read by all request threads
/// (each service is thread-safe itself).
struct ApiContext {
    Config config;
    cleanup::Registry& registry;
    ExportRunner& runner;
    cleanup::CleanupScheduler& scheduler;
    cleanup::FileStore& store; ///< every file operation on the export files
    cleanup::Metrics& metrics;
    const cleanup::Clock& clock;
    CatalogHolder& catalog;
    std::string instanceId;
    Poco::Logger& logger;
};

} // namespace exportd
