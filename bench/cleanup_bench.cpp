// One benchmark program, over 400 lines: set-up, the run and its report.
// The cleanup benchmark: 100,000 ready exports whose files expire within 10 s,
// deleted by the real CleanupScheduler (one Poco::Util::Timer thread) over the
// real SqliteRegistry (or, with --registry URI, the PostgreSQL registry).
//
// The registry (schema by openRegistry()) gets the ready records and the
// exports directory the files; then every export is scheduled at its
// expires_at, spread uniformly over the window. An inotify watch stamps each
// file's disappearance, so each deletion's lag is measured to the microsecond,
// whatever the scheduler does inside, rather than read from the histogram's
// buckets. RSS and thread counts come from /proc/self/status. Prints one JSON
// object; writes each deletion's offset in the window and its lag (ms) to --lags.
//
//   cleanup_bench DIR [--files N] [--spread-ms MS] [--lead-ms MS] [--lags FILE] [--log info|warning]
//                     [--unlink ring|timer]   (ring: as exportd, io_uring where the kernel has it;
//                                             timer: each unlink on the timer thread, for comparison)
//                     [--registry postgresql://...]   (a PostgreSQL registry whose tables do not exist yet)

#include "ProcStatus.h"

#include "cleanup/CleanupScheduler.h"
#include "cleanup/Clock.h"
#include "cleanup/Metrics.h"
#include "cleanup/Registry.h"
#include "cleanup/ExportId.h"
#include "cleanup/FileStore.h"
#include "cleanup/Sweeper.h"

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>

#include <libpq-fe.h>
#include <sqlite3.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <vector>

using namespace exportd::cleanup;

namespace {

std::int64_t realtimeMicros()
{
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

double cpuSeconds()
{
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Inserts the ready records in one transaction, straight through SQLite: the
// set-up is not what is measured, and 100,000 single-row transactions through
// Registry::create() take minutes on a busy machine. The columns are those of
// the schema that openRegistry() has just created.
void insertReady(const std::string& path, const std::vector<std::string>& ids, Millis created,
                 Millis expiresAt, const std::string& instance)
{
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("open " + path);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    sqlite3_stmt* st = nullptr;
    const char* sql =
        "INSERT INTO exports (id, list_key, limit_key, request_key, status, dataset, format, filters_json,"
        " retention_seconds, created_at, started_at, ready_at, expires_at, file_name, file_size_bytes,"
        " file_rows, file_content_type, file_sha256, scheduled_by, updated_at)"
        " VALUES (?1, 'session:bench', 'session:bench', ?1, 'ready', 'orders', 'csv', '{}', 60, ?2, ?2, ?2,"
        " ?3, 'orders.csv', 1024, 10, 'text/csv; charset=utf-8', ?4, ?5, ?2)";
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db));
    const std::string sha(64, '0');
    for (const auto& id : ids) {
        sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, created);
        sqlite3_bind_int64(st, 3, expiresAt);
        sqlite3_bind_text(st, 4, sha.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, instance.c_str(), -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db));
    sqlite3_close(db);
}

// Sets each record's expires_at to the time its timer is scheduled for.
void setExpiries(const std::string& path, const std::vector<std::string>& ids, const std::vector<Millis>& at)
{
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("open " + path);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "UPDATE exports SET expires_at = ? WHERE id = ?", -1, &st, nullptr) != SQLITE_OK)
        throw std::runtime_error(sqlite3_errmsg(db));
    for (std::size_t i = 0; i < ids.size(); ++i) {
        sqlite3_bind_int64(st, 1, at[i]);
        sqlite3_bind_text(st, 2, ids[i].c_str(), -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db));
    sqlite3_close(db);
}

// Resets VmHWM to the current RSS (Linux >= 4.0), so the peak read later is
// the peak of the measured phase only.
void resetPeakRss()
{
    std::ofstream("/proc/self/clear_refs") << "5";
}

std::vector<long> threadIds()
{
    std::vector<long> tids;
    if (DIR* d = ::opendir("/proc/self/task")) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') tids.push_back(std::strtol(e->d_name, nullptr, 10));
        ::closedir(d);
    }
    std::sort(tids.begin(), tids.end());
    return tids;
}

// A thread's time on a CPU and waiting for one (ns), from /proc schedstat.
std::pair<long long, long long> schedStat(long tid)
{
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/schedstat");
    long long onCpu = 0, waiting = 0;
    in >> onCpu >> waiting;
    return {onCpu, waiting};
}

// "some avg10" of /proc/pressure/io: the share of the last 10 s in which some
// task waited for I/O (%), or -1 where the kernel has no PSI.
double ioPressure()
{
    std::ifstream in("/proc/pressure/io");
    std::string line;
    while (std::getline(in, line))
        if (line.compare(0, 5, "some ") == 0) {
            const auto at = line.find("avg10=");
            if (at != std::string::npos) return std::strtod(line.c_str() + at + 6, nullptr);
        }
    return -1;
}

// Threads named like the kernel's io_uring workers of this process.
int ringWorkers()
{
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/task")) {
        while (dirent* e = ::readdir(d)) {
            if (e->d_name[0] == '.') continue;
            std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
            std::string name;
            std::getline(comm, name);
            n += name.compare(0, 7, "iou-wrk") == 0;
        }
        ::closedir(d);
    }
    return n;
}

std::string threadNames()
{
    std::string names;
    DIR* d = ::opendir("/proc/self/task");
    if (!d) return names;
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
        std::string name;
        std::getline(comm, name);
        names += (names.empty() ? "" : ",") + name;
    }
    ::closedir(d);
    return names;
}

// Stamps each file's disappearance: an inotify IN_DELETE watch on the exports
// directory, read by its own thread (the bench's, not the scheduler's). The
// stamp is taken when the event is read, so a delay here can only add to the
// measured lag, never hide one.
class DeletionWatch {
public:
    /// `index` maps each file name to its slot; it and the slots are allocated
    /// here, before the measured phase, so that the watch allocates nothing
    /// while the scheduler's memory is being measured.
    DeletionWatch(const std::string& dir, const std::vector<std::string>& names)
        : _stampsUs(names.size(), -1)
    {
        _index.reserve(names.size());
        for (std::size_t i = 0; i < names.size(); ++i) _index.emplace(names[i], i);
        _fd = ::inotify_init1(IN_CLOEXEC);
        if (_fd < 0 || ::inotify_add_watch(_fd, dir.c_str(), IN_DELETE) < 0)
            throw std::runtime_error("inotify on " + dir + ": " + std::strerror(errno));
        _thread = std::thread([this] { loop(); });
    }
    ~DeletionWatch() { stop(); }

    void stop()
    {
        if (_stopping.exchange(true)) return;
        _thread.join();
        ::close(_fd);
    }

    /// Realtime microseconds at which file i was seen gone, or -1. After stop().
    const std::vector<std::int64_t>& stamps() const { return _stampsUs; }
    bool overflowed() const { return _overflow.load(); }

private:
    void loop()
    {
        alignas(inotify_event) char buf[1 << 16];
        pollfd p{_fd, POLLIN, 0};
        std::string name;
        name.reserve(64);
        while (!_stopping.load()) {
            if (::poll(&p, 1, 50) <= 0) continue;
            const ssize_t n = ::read(_fd, buf, sizeof buf);
            const std::int64_t now = realtimeMicros();
            if (n <= 0) continue;
            for (char* q = buf; q < buf + n;) {
                auto* e = reinterpret_cast<inotify_event*>(q);
                if (e->mask & IN_Q_OVERFLOW) _overflow = true;
                if ((e->mask & IN_DELETE) && e->len) {
                    name.assign(e->name);
                    auto it = _index.find(name);
                    if (it != _index.end()) _stampsUs[it->second] = now;
                }
                q += sizeof(inotify_event) + e->len;
            }
        }
    }

    std::unordered_map<std::string, std::size_t> _index;
    std::vector<std::int64_t> _stampsUs;
    int _fd = -1;
    std::thread _thread;
    std::atomic<bool> _stopping{false};
    std::atomic<bool> _overflow{false};
};

double percentile(std::vector<std::int64_t> v, double p)
{
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p / 100.0 * (v.size() - 1) + 0.5));
    return v[i] / 1000.0;
}

} // namespace

// The same two set-up steps on a PostgreSQL registry (--registry URI): one
// statement each, the rows passed as arrays.
void pgRun(const std::string& uri, const char* sql, const std::vector<std::string>& params)
{
    PGconn* conn = PQconnectdb(uri.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
        const std::string error = PQerrorMessage(conn);
        PQfinish(conn);
        throw std::runtime_error("connect: " + error);
    }
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    PGresult* res = PQexecParams(conn, sql, static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                                 nullptr, 0);
    const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    const std::string error = PQerrorMessage(conn);
    PQclear(res);
    PQfinish(conn);
    if (!ok) throw std::runtime_error(error);
}

std::string pgArray(const std::vector<std::string>& items)
{
    std::string out = "{";
    for (const auto& item : items) out += (out.size() > 1 ? "," : "") + item;
    return out + "}";
}

void pgInsertReady(const std::string& uri, const std::vector<std::string>& ids, Millis created, Millis expiresAt,
                   const std::string& instance)
{
    pgRun(uri,
          "INSERT INTO exports (id, list_key, limit_key, request_key, status, dataset, format, filters_json,"
          " retention_seconds, created_at, started_at, ready_at, expires_at, file_name, file_size_bytes,"
          " file_rows, file_content_type, file_sha256, scheduled_by, updated_at)"
          " SELECT i, 'session:bench', 'session:bench', i, 'ready', 'orders', 'csv', '{}', 60, $2::bigint,"
          " $2::bigint, $2::bigint, $3::bigint, 'orders.csv', 1024, 10, 'text/csv; charset=utf-8', $4, $5,"
          " $2::bigint FROM unnest($1::text[]) AS i",
          {pgArray(ids), std::to_string(created), std::to_string(expiresAt), std::string(64, '0'), instance});
}

void pgSetExpiries(const std::string& uri, const std::vector<std::string>& ids, const std::vector<Millis>& at)
{
    std::vector<std::string> times;
    for (Millis t : at) times.push_back(std::to_string(t));
    pgRun(uri,
          "UPDATE exports e SET expires_at = v.at FROM unnest($1::text[], $2::bigint[]) AS v(id, at)"
          " WHERE e.id = v.id",
          {pgArray(ids), pgArray(times)});
}

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::cerr << "usage: cleanup_bench DIR [--files N] [--spread-ms MS] [--lead-ms MS] [--lags FILE]"
                     " [--log info|warning] [--unlink ring|timer] [--registry postgresql://...]\n";
        return 2;
    }
    const std::string dir = argv[1];
    int files = 100000;
    Millis spreadMs = 10000, leadMs = 5000;
    std::string lagsPath, registryUri;
    bool quiet = false;
    UnlinkMode unlinkMode = UnlinkMode::Auto;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--files") files = std::stoi(v);
        else if (k == "--spread-ms") spreadMs = std::stoll(v);
        else if (k == "--lead-ms") leadMs = std::stoll(v);
        else if (k == "--lags") lagsPath = v;
        else if (k == "--registry") registryUri = v;
        else if (k == "--log") quiet = v == "warning";
        else if (k == "--unlink") unlinkMode = v == "timer" ? UnlinkMode::OnTimerThread : UnlinkMode::Auto;
        else { std::cerr << "unknown option " << k << "\n"; return 2; }
    }
    // Logging as exportd sets it up (ExportdApp): information and up, formatted,
    // to stderr; the scheduler logs each deletion. `--log warning` turns that off.
    Poco::AutoPtr<Poco::PatternFormatter> formatter(new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S.%iZ %p %s: %t"));
    formatter->setProperty("times", "UTC");
    Poco::AutoPtr<Poco::ConsoleChannel> console(new Poco::ConsoleChannel(std::cerr));
    Poco::AutoPtr<Poco::FormattingChannel> channel(new Poco::FormattingChannel(formatter, console));
    Poco::Logger::root().setChannel(channel);
    Poco::Logger::root().setLevel(quiet ? Poco::Message::PRIO_WARNING : Poco::Message::PRIO_INFORMATION);
    Poco::Logger::get("exportd.cleanup").setLevel(Poco::Logger::root().getLevel());
    Poco::Logger::get("exportd.sweep").setLevel(Poco::Logger::root().getLevel());
    const std::string exportsDir = dir + "/exports";
    ::mkdir(dir.c_str(), 0750);
    ::mkdir(exportsDir.c_str(), 0750);

    // Default: SQLite in DIR; --registry: a PostgreSQL registry (its database empty).
    const bool onPostgres = !registryUri.empty();
    auto sqlite = openRegistry(onPostgres ? registryUri : "sqlite:" + dir + "/registry.db");
    Registry& registry = *sqlite;
    SystemClock clock;
    Metrics metrics;
    const std::string instance = newExportId();
    registry.heartbeat(instance, clock.nowMs());

    // --- set-up (not measured): records and files ------------------------
    std::vector<std::string> ids(files);
    for (auto& id : ids) id = newExportId();
    std::mt19937_64 rng(20261129);
    std::uniform_int_distribution<Millis> offset(0, spreadMs - 1);
    std::vector<Millis> offsets(files);
    for (auto& o : offsets) o = offset(rng);
    // Records are inserted in expiry order, as exportd inserts them: exports
    // that expire together became ready together (one retention), so their
    // rows are neighbours. They are scheduled in random order below.
    std::sort(offsets.begin(), offsets.end());

    const auto t0 = std::chrono::steady_clock::now();
    const std::string payload(1024, 'x');
    const Millis created = clock.nowMs();
    // expires_at is rewritten to each file's own time once the window's start is known.
    if (onPostgres)
        pgInsertReady(registryUri, ids, created, created + 3600000, instance);
    else
        insertReady(dir + "/registry.db", ids, created, created + 3600000, instance);
    for (int i = 0; i < files; ++i) {
        const int fd = ::open((exportsDir + "/" + ids[i]).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0640);
        if (fd < 0 || ::write(fd, payload.data(), payload.size()) != static_cast<ssize_t>(payload.size())) {
            std::perror("create file");
            return 1;
        }
        ::close(fd);
    }
    const double setupS = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    // The set-up's writes go to disk before the window opens; the I/O pressure
    // (/proc/pressure/io) at the window's start and end is reported with the lags.
    ::sync();
    const double settleS = 0;
    const double pressureAtStart = ioPressure();

    // The process as in exportd: the scheduler (one timer thread) and the
    // sweeper (its own timer: a sweep at start, then heartbeats every 2 s).
    const long threadsWithoutScheduler = procStatus("Threads");
    const std::vector<long> tidsWithout = threadIds();
    Poco::Logger& logger = Poco::Logger::get("exportd.cleanup");
    const auto store = openDirectoryStore(exportsDir);
    CleanupScheduler scheduler(registry, metrics, clock, *store, logger, unlinkMode);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const long threadsWithScheduler = procStatus("Threads");
    long timerTid = 0; // the scheduler's timer thread: the one its constructor started
    for (long tid : threadIds())
        if (!std::binary_search(tidsWithout.begin(), tidsWithout.end(), tid)) timerTid = tid;
    SweeperOptions sweeperOptions;
    sweeperOptions.instanceId = instance;
    Sweeper sweeper(registry, scheduler, *store, metrics, clock, sweeperOptions, Poco::Logger::get("exportd.sweep"));
    sweeper.setLocalJobCheck([](const std::string&) { return false; });
    sweeper.start();
    while (metrics.value("exportd_last_sweep_timestamp_seconds") <= 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));

    // The window starts leadMs from now: time enough to write the expiries
    // and schedule every task before the first one is due.
    const Millis start = clock.nowMs() + leadMs;
    std::vector<Millis> expiries(files);
    for (int i = 0; i < files; ++i) {
        expiries[i] = start + offsets[i];
    }
    if (onPostgres)
        pgSetExpiries(registryUri, ids, expiries);
    else
        setExpiries(dir + "/registry.db", ids, expiries);
    std::vector<int> order(files);
    for (int i = 0; i < files; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    DeletionWatch watch(exportsDir, ids);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    resetPeakRss();
    const long rssBefore = procStatus("VmRSS");
    std::fprintf(stderr, "rss before: anon %ld kB, file %ld kB, shmem %ld kB\n", procStatus("RssAnon"),
                 procStatus("RssFile"), procStatus("RssShmem"));
    const long long sqliteBefore = sqlite3_memory_used();
    const long threadsBefore = procStatus("Threads");

    // --- the measured phase ----------------------------------------------
    const auto s0 = std::chrono::steady_clock::now();
    for (int i : order) scheduler.schedule(ids[i], expiries[i]);
    const double scheduleMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s0).count();
    const long rssScheduled = procStatus("VmRSS");
    std::fprintf(stderr, "rss scheduled: anon %ld kB, file %ld kB, shmem %ld kB\n", procStatus("RssAnon"),
                 procStatus("RssFile"), procStatus("RssShmem"));
    const long threadsScheduled = procStatus("Threads");
    const std::string names = threadNames();
    const bool lateStart = clock.nowMs() > start;
    if (lateStart) std::cerr << "warning: scheduling ended after the first expiry; raise --lead-ms\n";
    const double cpu0 = cpuSeconds();
    const auto timer0 = schedStat(timerTid);

    const Millis deadline = start + spreadMs + 60000;
    int ringWorkersSeen = 0;
    while (scheduler.pending() > 0 && clock.nowMs() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        ringWorkersSeen = std::max(ringWorkersSeen, ringWorkers());
    }
    const Millis finished = clock.nowMs();
    const double deletionCpuS = cpuSeconds() - cpu0;
    const auto timer1 = schedStat(timerTid);
    const long rssAfter = procStatus("VmRSS");
    std::fprintf(stderr, "rss after: anon %ld kB, file %ld kB, shmem %ld kB\n", procStatus("RssAnon"),
                 procStatus("RssFile"), procStatus("RssShmem"));
    const long hwm = procStatus("VmHWM");
    const long long sqliteAfter = sqlite3_memory_used();
    const long long sqlitePeak = sqlite3_memory_highwater(0);
    const bool ringUsed = scheduler.unlinksThroughRing();
    sweeper.stop();
    scheduler.stop();

    int left = 0;
    if (DIR* d = ::opendir(exportsDir.c_str())) {
        while (dirent* e = ::readdir(d)) left += e->d_name[0] != '.';
        ::closedir(d);
    }
    const std::int64_t pendingInRegistry = registry.countPendingCleanups();
    // Deletions still being recorded would show up in files_left/registry_pending.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    watch.stop();
    const auto& stamps = watch.stamps();
    std::vector<std::int64_t> lags;
    lags.reserve(files);
    std::vector<std::pair<Millis, std::int64_t>> byOffset; // (offset in the window, lag)
    for (int i = 0; i < files; ++i) {
        if (stamps[i] < 0) continue;
        lags.push_back(stamps[i] - expiries[i] * 1000);
        byOffset.emplace_back(offsets[i], lags.back());
    }
    std::sort(byOffset.begin(), byOffset.end());
    if (!lagsPath.empty()) {
        std::ofstream out(lagsPath);
        char buf[48];
        out << "# expiry offset in the window (ms)\tlag (ms)\n";
        for (const auto& [offset, us] : byOffset) {
            std::snprintf(buf, sizeof buf, "%lld\t%.3f\n", static_cast<long long>(offset), us / 1000.0);
            out << buf;
        }
    }
    std::int64_t early = 0;
    for (auto us : lags) early += us < 0;

    std::printf("{\"files\": %d, \"deleted\": %zu, \"files_left\": %d, \"registry_pending\": %lld,"
                " \"early\": %lld, \"setup_s\": %.2f, \"schedule_ms\": %.1f,"
                " \"window_ms\": %lld, \"last_deletion_after_window_ms\": %lld,"
                " \"lag_p50_ms\": %.3f, \"lag_p90_ms\": %.3f, \"lag_p99_ms\": %.3f, \"lag_max_ms\": %.3f,"
                " \"rss_before_kb\": %ld, \"rss_scheduled_kb\": %ld, \"rss_after_kb\": %ld, \"hwm_kb\": %ld,"
                " \"threads_without_scheduler\": %ld, \"threads_with_scheduler\": %ld, \"threads_before\": %ld, \"threads_scheduled\": %ld,"
                " \"thread_names\": \"%s\", \"inotify_overflow\": %s,"
                " \"histogram_count\": %llu, \"late_start\": %s, \"deletion_cpu_s\": %.3f,"
                " \"cpu_us_per_deletion\": %.1f, \"sqlite_before_kb\": %lld, \"sqlite_after_kb\": %lld,"
                " \"sqlite_peak_kb\": %lld, \"timer_cpu_s\": %.3f, \"timer_runqueue_wait_s\": %.3f,"
                " \"settle_s\": %.1f, \"io_pressure_at_start\": %.2f, \"io_pressure_at_end\": %.2f,"
                " \"unlinks_through_ring\": %s, \"ring_workers_seen\": %d}\n",
                files, lags.size(), left, static_cast<long long>(pendingInRegistry),
                static_cast<long long>(early), setupS, scheduleMs, static_cast<long long>(spreadMs),
                static_cast<long long>(finished - (start + spreadMs)), percentile(lags, 50),
                percentile(lags, 90), percentile(lags, 99), percentile(lags, 100), rssBefore, rssScheduled,
                rssAfter, hwm, threadsWithoutScheduler, threadsWithScheduler, threadsBefore, threadsScheduled, names.c_str(),
                watch.overflowed() ? "true" : "false",
                static_cast<unsigned long long>(metrics.count("exportd_cleanup_lag_seconds")),
                lateStart ? "true" : "false", deletionCpuS, files ? deletionCpuS * 1e6 / files : 0.0,
                sqliteBefore / 1024, sqliteAfter / 1024, sqlitePeak / 1024,
                (timer1.first - timer0.first) / 1e9, (timer1.second - timer0.second) / 1e9, settleS,
                pressureAtStart, ioPressure(), ringUsed ? "true" : "false", ringWorkersSeen);
    return lags.size() == static_cast<std::size_t>(files) && left == 0 && pendingInRegistry == 0 ? 0 : 1;
}
