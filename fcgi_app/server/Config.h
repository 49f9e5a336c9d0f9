#pragma once

#include "export/ConfigError.h"

#include <cstdint>
#include <map>
#include <string>

namespace Poco::Util { class AbstractConfiguration; }

namespace exportd {

/// Every setting of exportd.properties (README, "Configuration"), read once at start-up and validated, then passed
/// down by value. Immutable afterwards.
struct Config {
    std::int64_t retentionSeconds = 60;
    std::string dataDir = "/var/lib/exportd";
    std::string exportsDir;          ///< default <dataDir>/exports
    std::string registry;            ///< default sqlite:<dataDir>/registry.db
    std::string datasetsFile = "/etc/exportd/datasets.json";
    std::string listen;              ///< "" = fd 0 if listening, else unix:/run/exportd/exportd.sock
    int requestThreads = 8;
    int requestReadTimeoutSeconds = 5; ///< longest a FastCGI client may take to send a request or take its answer
    int exportThreads = 2;
    std::string identityParam = "REMOTE_USER";
    int maxActiveExportsPerOwner = 3;
    std::int64_t maxRows = 5000000;
    std::int64_t quotaBytes = 10LL * 1024 * 1024 * 1024;
    std::int64_t maxBodyBytes = 65536;
    std::int64_t sweepIntervalSeconds = 30;
    std::string fileGroup = "www-data";
    std::int64_t minFreeBytes = 268435456;
    bool requireIdentity = false;
    std::string pageUrl = "/";
    std::int64_t exportRowsPerSecond = 0;
    std::int64_t registryKeepSeconds = 604800;
    int maxExportsPerOwnerPerMinute = 120;   ///< creation rate per owner; 0 = unlimited
    std::int64_t maxFiltersBytes = 8192;    ///< canonical filters stored with a record
    int maxQueuedExports = 64;              ///< jobs queued or running in this process
    std::int64_t ownerQuotaBytes = 2LL * 1024 * 1024 * 1024; ///< bytes of files one owner may hold
    int maxSourceConnections = 4;           ///< connections at once from exports to one PostgreSQL source

    int fileGid = -1;                ///< resolved from fileGroup
};

/// The keys of exportd.properties and their defaults, as text.
const std::map<std::string, std::string>& configDefaults();

/// Reads the properties file `path` (when `required` is false a missing file
/// means "all defaults"), applies EXPORTD_<KEY> environment overrides for known
/// keys only, validates every value and resolves file_group. Throws ConfigError
/// with a message that names the key.
Config loadConfig(const std::string& path, bool required);

} // namespace exportd
