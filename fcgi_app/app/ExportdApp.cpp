#include "app/ExportdApp.h"

#include "api/Api.h"
#include "server/Config.h"
#include "export/Dataset.h"
#include "export/ExportRunner.h"
#include "server/FcgiServer.h"
#include "export/ConfigError.h"

#include "cleanup/CleanupScheduler.h"
#include "cleanup/ExpiryWatcher.h"
#include "cleanup/ExportId.h"
#include "cleanup/FileStore.h"
#include "cleanup/Registry.h"
#include "cleanup/RegistryClock.h"
#include "cleanup/Sweeper.h"

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>

#include <sqlite3.h>

#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

namespace exportd {

namespace {

void onWakeSignal(int) {}

void setUpLogging()
{
    Poco::AutoPtr<Poco::PatternFormatter> formatter(new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S.%iZ %p %s: %t"));
    formatter->setProperty("times", "UTC");
    Poco::AutoPtr<Poco::ConsoleChannel> console(new Poco::ConsoleChannel(std::cerr));
    Poco::AutoPtr<Poco::FormattingChannel> channel(new Poco::FormattingChannel(formatter, console));
    Poco::Logger::root().setChannel(channel);
    Poco::Logger::root().setLevel(Poco::Message::PRIO_INFORMATION);
}

// Creates `path` with `mode` if missing. With `enforce`, an existing directory
// is also given `mode` and group `gid` (the export directory, whose modes the
// README fixes in "How files are kept from outliving their expiry"); otherwise an operator's existing directory is left as it is.
void makeDirectory(const std::string& path, mode_t mode, int gid, const char* key, bool enforce)
{
    const bool created = ::mkdir(path.c_str(), mode) == 0;
    if (!created && errno != EEXIST)
        throw ConfigError(std::string(key) + ": cannot create '" + path + "': " + std::strerror(errno));
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw ConfigError(std::string(key) + ": '" + path + "' is not a directory");
    if (!created && !enforce)
        return;
    if (gid >= 0 && st.st_gid != static_cast<gid_t>(gid) && ::chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0)
        throw ConfigError(std::string(key) + ": cannot give '" + path + "' to group " + std::to_string(gid) + ": " +
                          std::strerror(errno));
    if ((st.st_mode & 07777) != mode && ::chmod(path.c_str(), mode) != 0)
        throw ConfigError(std::string(key) + ": cannot set mode of '" + path + "': " + std::strerror(errno));
}

// A host whose clock is off says so at start (the metrics keep showing it).
void logClockOffset(Poco::Logger& log, const cleanup::Clock& clock)
{
    const auto aligned = clock.alignment();
    if (!aligned) return;
    const std::string text = "event=registry_clock offset_ms=" + std::to_string(aligned->offsetUs / 1000)
        + " uncertainty_ms=" + std::to_string(aligned->uncertaintyUs / 1000);
    if (aligned->offsetUs > 1000000 || aligned->offsetUs < -1000000)
        log.warning(text + " (this host's clock is off the registry's; exportd keeps the registry's time)");
    else
        log.information(text);
}

} // namespace

void blockProcessSignals()
{
    struct sigaction wake {};
    wake.sa_handler = onWakeSignal; // no SA_RESTART: interrupts accept()
    ::sigaction(SIGUSR1, &wake, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1})
        sigaddset(&set, sig);
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

ExportdApp::ExportdApp()
{
    setUnixOptions(true);
}

void ExportdApp::defineOptions(Poco::Util::OptionSet& options)
{
    ServerApplication::defineOptions(options);
    options.addOption(Poco::Util::Option("config", "c", "configuration file (properties)")
                          .required(false).repeatable(false).argument("FILE"));
    options.addOption(Poco::Util::Option("check-config", "", "validate the configuration and datasets, then exit")
                          .required(false).repeatable(false));
    options.addOption(Poco::Util::Option("sweep-once", "", "run one sweep of the registry and the export directory, then exit")
                          .required(false).repeatable(false));
    options.addOption(Poco::Util::Option("version", "", "print the version and exit").required(false).repeatable(false));
    options.addOption(Poco::Util::Option("help", "h", "print this help").required(false).repeatable(false));
}

void ExportdApp::handleOption(const std::string& name, const std::string& value)
{
    ServerApplication::handleOption(name, value);
    if (name == "config") {
        _configPath = value;
        _configGiven = true;
    } else if (name == "check-config") {
        _checkOnly = true;
    } else if (name == "sweep-once") {
        _sweepOnly = true;
    } else if (name == "version") {
        std::cout << "exportd " << EXPORTD_VERSION << std::endl;
        _exit = true;
        stopOptionsProcessing();
    } else if (name == "help") {
        Poco::Util::HelpFormatter help(options());
        help.setCommand(commandName());
        help.setUsage("[--config FILE] [--check-config | --sweep-once]");
        help.setHeader("exportd: data exports that delete themselves (FastCGI server).");
        help.format(std::cout);
        _exit = true;
        stopOptionsProcessing();
    }
}

int ExportdApp::main(const std::vector<std::string>&)
{
    if (_exit)
        return EXIT_OK;
    // Before any connection opens. Each SQLite connection here is used by one
    // thread at a time (a registry connection is borrowed from its pool for one
    // call, an export job opens its own), so the per-call mutexes of the default
    // serialized mode are pure cost (bench/RESULTS.md).
    sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    ::umask(027);
    setUpLogging();
    try {
        if (_checkOnly)
            return checkConfig();
        return _sweepOnly ? sweepOnce() : serve();
    } catch (const ConfigError& e) {
        std::cerr << "exportd: configuration error: " << e.what() << std::endl;
        return EXIT_CONFIG;
    } catch (const cleanup::RegistryError& e) {
        std::cerr << "exportd: registry error: " << e.what() << std::endl;
        return EXIT_CONFIG;
    } catch (const std::exception& e) {
        std::cerr << "exportd: cannot start: " << e.what() << std::endl;
        return EXIT_SOFTWARE;
    }
}

int ExportdApp::checkConfig()
{
    const Config config = loadConfig(_configPath, _configGiven);
    const DatasetCatalog catalog = DatasetCatalog::loadFile(config.datasetsFile);
    catalog.checkSources();
    // A database server registry must answer now (a SQLite one is a file that
    // exportd creates at start: opening it here would create it as whoever runs
    // the check).
    if (config.registry.rfind("sqlite:", 0) != 0) {
        try {
            cleanup::openRegistry(config.registry)->ping();
        } catch (const cleanup::RegistryError& e) {
            throw ConfigError(std::string("registry: ") + e.what());
        }
    }
    std::cout << "exportd: configuration OK (" << catalog.all().size() << " dataset(s))" << std::endl;
    return EXIT_OK;
}

// One sweep and exit: what the package's exportd-sweep.timer runs every minute,
// so that a stopped or crash-looping service still leaves no file long past
// its expiry (README "How files are kept from outliving their expiry").
int ExportdApp::sweepOnce()
{
    const Config config = loadConfig(_configPath, _configGiven);
    makeDirectory(config.exportsDir, 0750, config.fileGid, "exports_dir", true);
    auto registry = cleanup::openRegistry(config.registry);
    // Overdue means overdue by the registry's clock (docs/operations.md, Several hosts: failover).
    cleanup::RegistryClock clock(*registry);
    cleanup::Metrics metrics;
    const auto store = cleanup::openDirectoryStore(config.exportsDir, config.fileGid);
    cleanup::CleanupScheduler scheduler(*registry, metrics, clock, *store, Poco::Logger::get("exportd.cleanup"));
    cleanup::SweeperOptions options;
    options.instanceId = cleanup::newExportId();
    options.leaseMs = 10000;
    options.registryKeepMs = config.registryKeepSeconds * 1000;
    options.longLived = false;
    cleanup::Sweeper sweeper(*registry, scheduler, *store, metrics, clock, options, Poco::Logger::get("exportd.sweep"));
    const cleanup::SweepReport report = sweeper.sweepOnce();
    sweeper.stop();
    scheduler.stop();
    if (report.errors > 0) {
        std::cerr << "exportd: the sweep finished with " << report.errors
                  << " error(s) (see the log above); what failed is retried by the next sweep" << std::endl;
        return EXIT_SOFTWARE;
    }
    std::cout << "exportd: sweep done: " << report.overdueDeleted << " overdue, " << report.partsDeleted
              << " partial, " << report.staleDeleted + report.orphansDeleted << " other file(s) deleted; "
              << report.interrupted << " interrupted, " << report.purged << " purged" << std::endl;
    return EXIT_OK;
}

int ExportdApp::serve()
{
    Poco::Logger& log = Poco::Logger::get("exportd");
    const Config config = loadConfig(_configPath, _configGiven);
    auto catalog = std::make_shared<const DatasetCatalog>(DatasetCatalog::loadFile(config.datasetsFile));
    catalog->checkSources();

    makeDirectory(config.dataDir, 0750, -1, "data_dir", false);
    makeDirectory(config.exportsDir, 0750, config.fileGid, "exports_dir", true);

    std::string listenDescription;
    const int listenFd = openListenSocket(config.listen, config.fileGid, listenDescription);

    auto registry = cleanup::openRegistry(config.registry);
    // Every time this process writes to the registry or compares with one read
    // there is the registry's (docs/operations.md, Several hosts: failover).
    cleanup::RegistryClock clock(*registry);
    logClockOffset(log, clock);
    cleanup::Metrics metrics;
    const std::string instanceId = cleanup::newExportId();

    // Every file operation on the export files goes through this one store.
    const auto store = cleanup::openDirectoryStore(config.exportsDir, config.fileGid);
    cleanup::CleanupScheduler scheduler(*registry, metrics, clock, *store, Poco::Logger::get("exportd.cleanup"));
    // The configuration handed to each part as its own options, field by field
    // (alike in shape to any struct copy, e.g. ExportRecord::view()).
    ExportRunnerOptions runnerOptions;
    runnerOptions.instanceId = instanceId;
    runnerOptions.threads = config.exportThreads;
    runnerOptions.maxRows = config.maxRows;
    runnerOptions.rowsPerSecond = config.exportRowsPerSecond;
    runnerOptions.ownerQuotaBytes = config.ownerQuotaBytes;
    runnerOptions.maxSourceConnections = config.maxSourceConnections;
    ExportRunner runner(*registry, scheduler, *store, metrics, clock, runnerOptions,
                        Poco::Logger::get("exportd.export"));
    runner.setCatalog(catalog);
    CatalogHolder catalogHolder(catalog);

    cleanup::SweeperOptions sweeperOptions;
    sweeperOptions.instanceId = instanceId;
    sweeperOptions.sweepIntervalMs = config.sweepIntervalSeconds * 1000;
    sweeperOptions.heartbeatIntervalMs = 2000;
    sweeperOptions.leaseMs = 10000;
    sweeperOptions.registryKeepMs = config.registryKeepSeconds * 1000;
    cleanup::Sweeper sweeper(*registry, scheduler, *store, metrics, clock, sweeperOptions,
                             Poco::Logger::get("exportd.sweep"));
    sweeper.setLocalJobCheck([&runner](const std::string& id) { return runner.isLocalJob(id); });
    sweeper.setBeforeHeartbeat([&clock] { clock.sync(); });
    registry->heartbeat(instanceId, clock.nowMs());
    sweeper.start(); // the start-up sweep runs before the first request is taken

    cleanup::ExpiryWatcherOptions watcherOptions;
    watcherOptions.instanceId = instanceId;
    cleanup::ExpiryWatcher watcher(*registry, scheduler, metrics, watcherOptions, Poco::Logger::get("exportd.cleanup"));
    watcher.start();

    Api api(config, *registry, runner, scheduler, *store, metrics, clock, catalogHolder, instanceId,
            Poco::Logger::get("exportd.api"));
    FcgiServer server(listenFd, config.requestThreads, config.requestReadTimeoutSeconds, config.maxBodyBytes,
                      config.identityParam,
                      [&api](const Request& r) { return api.handle(r); }, Poco::Logger::get("exportd.fcgi"));
    server.start();
    log.information("event=started instance=%s listen=%s exports_dir=%s retention_seconds=%s datasets=%s",
                    instanceId, listenDescription, config.exportsDir, std::to_string(config.retentionSeconds),
                    std::to_string(catalog->all().size()));

    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGTERM, SIGINT, SIGHUP})
        sigaddset(&set, sig);
    for (;;) {
        int sig = 0;
        if (::sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            try {
                auto fresh = std::make_shared<const DatasetCatalog>(DatasetCatalog::loadFile(config.datasetsFile));
                fresh->checkSources();
                catalogHolder.set(fresh);
                runner.setCatalog(fresh);
                log.information("event=reloaded datasets=%s", std::to_string(fresh->all().size()));
            } catch (const std::exception& e) {
                log.error("event=reload_failed error=\"%s\" (keeping the previous datasets)", std::string(e.what()));
            }
            continue;
        }
        log.information("event=stopping signal=%s", std::string(::strsignal(sig)));
        break;
    }

    // No new connections from here (nginx gets ENOENT at once and tries another
    // upstream, or answers 502 without having sent the request); the ones
    // already queued on the socket are still accepted and answered by stop().
    if (listenFd != 0 && config.listen.rfind("unix:", 0) == 0)
        ::unlink(config.listen.substr(5).c_str());
    server.stop();      // requests in flight are answered
    watcher.stop();
    sweeper.stop();
    runner.shutdown();  // running jobs: failed/interrupted, partial files removed
    scheduler.stop();   // pending deletions: the next start's sweeper claims them
    try {
        registry->removeInstance(instanceId);
    } catch (const std::exception& e) {
        log.warning("event=lease_release_failed error=\"%s\"", std::string(e.what()));
    }
    ::close(listenFd);
    log.information("event=stopped instance=%s", instanceId);
    return EXIT_OK;
}

} // namespace exportd
