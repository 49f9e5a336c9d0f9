// What the expiry watcher costs one process (docs/operations.md, Several hosts:
// failover): the memory each pending export of the registry takes on every
// host (the watcher's entry and the CleanupScheduler's timer), the time of the
// first read that loads them all, and the cost of one steady poll.
//
// Fills the registry with N ready exports made by another process, ready_at
// spread at `rate` a second up to now and expiring in an hour (nothing is
// deleted), then builds a CleanupScheduler and an ExpiryWatcher as exportd
// does and has the watcher load them; RssAnon before and after gives the
// bytes per pending export. Then times `polls` steady polls (each reads the
// last overlapMs of ready exports: rate x 2 s rows, all known) and prints one
// JSON object. Run by hand (not part of run.sh):
//
//   watch_bench DIR [--pending N] [--rate R] [--polls P] [--registry URI] [--no-fill]
//
// The registry is sqlite:DIR/registry.db unless --registry names another
// (an empty one); it is filled through Registry::create/markRunning/markReady
// (minutes for 100,000 on a busy machine), unless --no-fill says it holds the
// pending exports already (a previous run's, within its hour).

#include "ProcStatus.h"

#include "cleanup/CleanupScheduler.h"
#include "cleanup/ExpiryWatcher.h"
#include "cleanup/ExportId.h"
#include "cleanup/FileStore.h"
#include "cleanup/Metrics.h"
#include "cleanup/Registry.h"
#include "cleanup/RegistryClock.h"

#include <Poco/Logger.h>

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/stat.h>
#include <vector>

using namespace exportd::cleanup;

namespace {

double msSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// CPU time of the whole process (every thread), in ms: on a shared machine
// the wall time says more about the neighbours.
double cpuMs()
{
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

// RssAnon after giving freed heap back: what the process holds for data.
long anonKb()
{
    ::malloc_trim(0);
    return procStatus("RssAnon");
}

// One writer: several contend for SQLite's one write lock and gain nothing.
void fill(Registry& registry, int pending, double rate, Millis now)
{
    for (int i = 0; i < pending; ++i) {
        const Millis readyAt = now - static_cast<Millis>((pending - i) * 1000.0 / rate);
        ExportRecord rec;
        rec.id = newExportId();
        // An owner each: create() looks through the owner's list for a double click.
        rec.ownerKey = rec.listKey = rec.limitKey = "bench-" + rec.id;
        rec.requestKey = rec.id;
        rec.status = ExportStatus::Queued;
        rec.dataset = "orders";
        rec.format = "csv";
        rec.retentionSeconds = 3600;
        rec.createdAt = readyAt;
        rec.instanceId = "bench-maker";
        registry.create(rec, 0);
        registry.markRunning(rec.id, "bench-maker", readyAt);
        registry.markReady(rec.id, {"orders.csv", 1024, 10, "text/csv; charset=utf-8", std::string(64, '0')}, readyAt,
                           now + 3600000, "bench-maker");
    }
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: watch_bench DIR [--pending N] [--rate R] [--polls P] [--registry URI] [--no-fill]\n");
        return 2;
    }
    const std::string dir = argv[1];
    int pending = 100000;
    double rate = 100;
    int polls = 200;
    std::string uri = "sqlite:" + dir + "/registry.db";
    bool fillFirst = true;
    for (int i = 2; i < argc; i += 2) {
        const std::string k = argv[i];
        if (k == "--no-fill") {
            fillFirst = false;
            --i;
            continue;
        }
        const std::string v = i + 1 < argc ? argv[i + 1] : "";
        if (k == "--pending") pending = std::atoi(v.c_str());
        else if (k == "--rate") rate = std::atof(v.c_str());
        else if (k == "--polls") polls = std::atoi(v.c_str());
        else if (k == "--registry") uri = v;
        else {
            std::fprintf(stderr, "unknown option %s\n", k.c_str());
            return 2;
        }
    }
    Poco::Logger::root().setLevel(Poco::Message::PRIO_WARNING);
    const std::string exportsDir = dir + "/exports";
    ::mkdir(exportsDir.c_str(), 0750);

    auto registry = openRegistry(uri);
    RegistryClock clock(*registry);
    auto started = std::chrono::steady_clock::now();
    if (fillFirst) fill(*registry, pending, rate, clock.nowMs());
    const double fillMs = msSince(started);

    Metrics metrics;
    const auto store = openDirectoryStore(exportsDir);
    CleanupScheduler scheduler(*registry, metrics, clock, *store, Poco::Logger::get("bench"));
    ExpiryWatcherOptions options;
    options.instanceId = "bench-watcher";
    ExpiryWatcher watcher(*registry, scheduler, metrics, options, Poco::Logger::get("bench"));
    // A first read of everything warms what is paid once (the connection's
    // page cache, the allocator's arenas) before the baseline is read.
    auto readAll = [&] {
        started = std::chrono::steady_clock::now();
        const auto all = registry->pendingSince(ExpiryWatcher::NO_CURSOR, pending + 1);
        return std::make_pair(all.size(), msSince(started));
    };
    const double readAllMs = readAll().second;
    const long before = anonKb();

    started = std::chrono::steady_clock::now();
    double cpu = cpuMs();
    const int loaded = watcher.pollOnce();
    const double loadMs = msSince(started);
    const double loadCpuMs = cpuMs() - cpu;
    const long after = anonKb();
    if (loaded != pending || scheduler.pending() != pending) {
        std::fprintf(stderr, "loaded %d, pending %lld, expected %d\n", loaded,
                     static_cast<long long>(scheduler.pending()), pending);
        return 1;
    }

    std::vector<double> pollMs;
    cpu = cpuMs();
    for (int i = 0; i < polls; ++i) {
        started = std::chrono::steady_clock::now();
        if (watcher.pollOnce() != 0) return 1;
        pollMs.push_back(msSince(started));
    }
    const double pollCpuMs = (cpuMs() - cpu) / std::max(1, polls);
    // The read alone, as the poll makes it: the rest of a poll is the scheduler's lookups.
    std::vector<double> readMs;
    for (int i = 0; i < polls; ++i) {
        started = std::chrono::steady_clock::now();
        registry->pendingSince(watcher.cursor() - options.overlapMs, options.pageSize);
        readMs.push_back(msSince(started));
    }
    auto percentile = [](std::vector<double>& v, int p) {
        std::sort(v.begin(), v.end());
        return v.empty() ? 0.0 : v[v.size() * p / 100];
    };
    const double p50 = percentile(pollMs, 50), p99 = percentile(pollMs, 99);
    const double read50 = percentile(readMs, 50);
    const double perSecond = 1000.0 / static_cast<double>(options.pollIntervalMs);
    std::printf("{\"registry\": \"%s\", \"pending\": %d, \"rate_per_s\": %.0f, \"fill_ms\": %.0f,"
                " \"read_all_ms\": %.0f, \"load_ms\": %.0f, \"load_cpu_ms\": %.0f, \"rss_anon_before_kb\": %ld, \"rss_anon_after_kb\": %ld,"
                " \"bytes_per_pending_export\": %.0f, \"rows_per_steady_poll\": %.0f,"
                " \"steady_poll_ms_p50\": %.3f, \"steady_poll_ms_p99\": %.3f, \"steady_poll_cpu_ms\": %.3f,"
                " \"steady_read_ms_p50\": %.3f,"
                " \"polls_per_s\": %.1f,"
                " \"watcher_cpu_share_of_one_core\": %.4f}\n",
                uri.substr(0, uri.find(':')).c_str(), pending, rate, fillMs, readAllMs, loadMs, loadCpuMs, before, after,
                (after - before) * 1024.0 / pending, rate * options.overlapMs / 1000.0, p50, p99, pollCpuMs, read50, perSecond,
                pollCpuMs * perSecond / 1000.0);
    watcher.stop();
    scheduler.stop();
    return 0;
}
