#include "server/Config.h"

#include "export/ConfigError.h"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/NumberParser.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include <grp.h>

#include <cstdlib>
#include <set>

namespace exportd {

const std::map<std::string, std::string>& configDefaults()
{
    static const std::map<std::string, std::string> defaults = {
        {"retention_seconds", "60"},
        {"data_dir", "/var/lib/exportd"},
        {"exports_dir", ""},
        {"registry", ""},
        {"datasets_file", "/etc/exportd/datasets.json"},
        {"listen", ""},
        {"request_threads", "8"},
        {"request_read_timeout_seconds", "5"},
        {"export_threads", "2"},
        {"identity_param", "REMOTE_USER"},
        {"max_active_exports_per_owner", "3"},
        {"max_rows", "5000000"},
        {"quota_bytes", "10737418240"},
        {"max_body_bytes", "65536"},
        {"sweep_interval_seconds", "30"},
        {"file_group", "www-data"},
        {"min_free_bytes", "268435456"},
        {"require_identity", "false"},
        {"page_url", "/"},
        {"export_rows_per_second", "0"},
        {"registry_keep_seconds", "604800"},
        {"max_exports_per_owner_per_minute", "120"},
        {"max_filters_bytes", "8192"},
        {"max_queued_exports", "64"},
        {"owner_quota_bytes", "2147483648"},
        {"max_source_connections", "4"},
    };
    return defaults;
}

namespace {

std::string envName(const std::string& key)
{
    std::string name = "EXPORTD_";
    for (char c : key)
        name += (c == '.') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return name;
}

std::int64_t toInt(const std::map<std::string, std::string>& values, const std::string& key,
                   std::int64_t min, std::int64_t max)
{
    const std::string& text = values.at(key);
    Poco::Int64 v = 0;
    if (!Poco::NumberParser::tryParse64(text, v))
        throw ConfigError(key + ": '" + text + "' is not a whole number");
    if (v < min || v > max)
        throw ConfigError(key + ": " + text + " is out of range (" + std::to_string(min) + " to " +
                          std::to_string(max) + ")");
    return v;
}

bool toBool(const std::map<std::string, std::string>& values, const std::string& key)
{
    const std::string& text = values.at(key);
    if (text == "true" || text == "1" || text == "yes" || text == "on")
        return true;
    if (text == "false" || text == "0" || text == "no" || text == "off")
        return false;
    throw ConfigError(key + ": '" + text + "' is not true or false");
}

} // namespace

Config loadConfig(const std::string& path, bool required)
{
    std::map<std::string, std::string> values = configDefaults();

    if (Poco::File(path).exists()) {
        Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> file;
        try {
            file = new Poco::Util::PropertyFileConfiguration(path);
        } catch (const Poco::Exception& e) {
            throw ConfigError("config file " + path + ": " + e.displayText());
        }
        Poco::Util::AbstractConfiguration::Keys keys;
        file->keys(keys);
        for (const auto& key : keys) {
            if (!values.count(key))
                throw ConfigError(key + ": unknown key in " + path);
            values[key] = file->getString(key);
        }
    } else if (required) {
        throw ConfigError("config file " + path + " does not exist");
    }

    for (auto& [key, value] : values) {
        if (const char* env = std::getenv(envName(key).c_str()))
            value = env;
    }

    Config c;
    c.retentionSeconds = toInt(values, "retention_seconds", 1, 365LL * 86400);
    c.dataDir = values["data_dir"];
    if (c.dataDir.empty())
        throw ConfigError("data_dir: must not be empty");
    c.exportsDir = values["exports_dir"].empty() ? c.dataDir + "/exports" : values["exports_dir"];
    c.registry = values["registry"].empty() ? "sqlite:" + c.dataDir + "/registry.db" : values["registry"];
    // SQLite, or PostgreSQL by a libpq URI (or "postgresql:" and a key=value
    // string). The value is not repeated in the message: it may hold a password.
    if (c.registry.rfind("sqlite:", 0) != 0 && c.registry.rfind("postgresql:", 0) != 0
        && c.registry.rfind("postgres://", 0) != 0)
        throw ConfigError("registry: scheme '" + c.registry.substr(0, c.registry.find(':'))
                          + "' is not supported (use sqlite:<path> or postgresql://...)");
    c.datasetsFile = values["datasets_file"];
    c.listen = values["listen"];
    c.requestThreads = static_cast<int>(toInt(values, "request_threads", 1, 1024));
    c.requestReadTimeoutSeconds = static_cast<int>(toInt(values, "request_read_timeout_seconds", 1, 3600));
    c.exportThreads = static_cast<int>(toInt(values, "export_threads", 1, 256));
    c.identityParam = values["identity_param"];
    if (c.identityParam.empty())
        throw ConfigError("identity_param: must not be empty");
    c.maxActiveExportsPerOwner = static_cast<int>(toInt(values, "max_active_exports_per_owner", 1, 100000));
    c.maxRows = toInt(values, "max_rows", 1, INT64_MAX);
    c.quotaBytes = toInt(values, "quota_bytes", 1, INT64_MAX);
    c.maxBodyBytes = toInt(values, "max_body_bytes", 64, 64LL * 1024 * 1024);
    c.sweepIntervalSeconds = toInt(values, "sweep_interval_seconds", 1, 86400);
    c.fileGroup = values["file_group"];
    c.minFreeBytes = toInt(values, "min_free_bytes", 0, INT64_MAX);
    c.requireIdentity = toBool(values, "require_identity");
    c.pageUrl = values["page_url"];
    if (c.pageUrl.empty() || c.pageUrl.find_first_of("\"<>'\r\n") != std::string::npos)
        throw ConfigError("page_url: '" + c.pageUrl + "' is not a usable URL");
    c.exportRowsPerSecond = toInt(values, "export_rows_per_second", 0, INT64_MAX);
    c.registryKeepSeconds = toInt(values, "registry_keep_seconds", 1, INT64_MAX / 1000);
    c.maxExportsPerOwnerPerMinute = static_cast<int>(toInt(values, "max_exports_per_owner_per_minute", 0, 1000000));
    c.maxFiltersBytes = toInt(values, "max_filters_bytes", 64, 64LL * 1024 * 1024);
    c.maxQueuedExports = static_cast<int>(toInt(values, "max_queued_exports", 1, 1000000));
    c.ownerQuotaBytes = toInt(values, "owner_quota_bytes", 1, INT64_MAX);
    c.maxSourceConnections = static_cast<int>(toInt(values, "max_source_connections", 1, 1000));

    if (c.fileGroup.empty())
        throw ConfigError("file_group: must not be empty");
    struct group grp {};
    struct group* found = nullptr;
    char buf[4096];
    if (::getgrnam_r(c.fileGroup.c_str(), &grp, buf, sizeof buf, &found) != 0 || !found)
        throw ConfigError("file_group: no group named '" + c.fileGroup + "'");
    c.fileGid = static_cast<int>(found->gr_gid);
    return c;
}

} // namespace exportd
