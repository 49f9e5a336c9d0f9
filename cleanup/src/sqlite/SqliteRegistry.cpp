#include "SqliteRegistry.h"

#include "SqliteRows.h"
#include "SqliteSchema.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace exportd::cleanup {

using sqlite::Row;
using sqlite::Statement;

namespace {

// SQLite waits this long for a lock by itself; the pool then retries whole
// operations for a while (SqlitePool.cpp).
constexpr int BUSY_TIMEOUT_MS = 2000;
constexpr std::size_t MAX_FILE_CONNECTIONS = 16;
constexpr int WAL_CHECKPOINT_PAGES = 10000;
// Per pooled connection (up to MAX_FILE_CONNECTIONS of them). 16 MiB each made
// the cleanup timer's connection alone grow the process by 16 MiB during a
// burst of 100,000 expiries, for no gain in CPU (bench/RESULTS.md).
constexpr int CACHE_KIB = 4096;

// ?1 = the time of the deletion, ?2 = the id.
const std::string MARK_FILE_DELETED_SQL =
    "UPDATE exports SET status = CASE status WHEN 'ready' THEN 'expired' ELSE status END,"
    " file_deleted_at = ?1, updated_at = ?1 WHERE id = ?2 AND file_deleted_at IS NULL"
    " AND status IN ('ready','expired','deleted','failed')";

// The download gate's condition: ?1 = the id, ?2 = the clock's now, ?3 = 1
// when that clock is the system's wall clock, whose reading SQLite then takes
// itself, inside the statement (Clock::registryMayReadSystemTime()).
const std::string GATE_WHERE =
    " WHERE id = ?1 AND status = 'ready' AND expires_at > CASE WHEN ?3 THEN"
    " MAX(?2, CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)) ELSE ?2 END";

// The hot paths (status polls, the page's list) use statements prepared once
// per pooled connection and kept until it closes: preparing each anew made a
// status poll cost ~100 us of CPU (bench/RESULTS.md); a kept statement read
// column by column costs a few. Only the thread holding the connection uses
// them, so finding them takes no lock.
const std::string LIST_WHERE = "WHERE list_key = ? ORDER BY created_at DESC, id LIMIT ?";
enum KeptQuery : std::size_t { QUERY_FIND, QUERY_LIST, QUERY_LIST_VIEW, QUERY_COUNT };
const std::string& keptSql(KeptQuery query)
{
    // Built on first use: the column lists live in another file (SqliteRows.cpp),
    // whose globals may not be initialised yet while this file's are.
    static const std::string SQL[QUERY_COUNT] = {
        sqlite::SELECT_RECORDS + "WHERE id = ?",
        sqlite::SELECT_RECORDS + LIST_WHERE,
        "SELECT " + sqlite::VIEW_COLUMNS + " FROM exports " + LIST_WHERE,
    };
    return SQL[query];
}

// A registry in a missing or read-only directory is refused with its reason.
std::string checkDirectory(const std::string& path)
{
    if (path == ":memory:") return path;
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
        throw RegistryError("cannot open registry " + path + ": directory " + dir + ": "
                            + std::strerror(errno));
    return path;
}

sqlite::ConnectionOptions connectionOptions(bool memory)
{
    sqlite::ConnectionOptions options;
    options.busyTimeoutMs = BUSY_TIMEOUT_MS;
    if (!memory) {
        options.walAutocheckpointPages = WAL_CHECKPOINT_PAGES;
        options.cacheKib = CACHE_KIB;
    }
    return options;
}

bool isMemory(const std::string& path)
{
    return path == ":memory:" || path.empty();
}

} // namespace

SqliteRegistry::SqliteRegistry(const std::string& path)
    : _memory(isMemory(path)),
      // A ":memory:" registry has exactly one connection, never closed: each
      // SQLite connection to ":memory:" is a database of its own.
      _pool(checkDirectory(_memory ? ":memory:" : path), connectionOptions(_memory),
            _memory ? 1 : MAX_FILE_CONNECTIONS, _memory)
{
    if (!_memory) {
        // journal_mode is a property of the file, set once; it takes a lock, so it
        // goes through the busy retry like any write.
        run("set WAL mode", [](Connection& c) { c.exec("PRAGMA journal_mode=WAL", "set WAL mode"); });
    }
    runImmediate("create schema", [](Connection& c) { sqlite::createSchema(c); });
}

SqliteRegistry::~SqliteRegistry() = default;

void SqliteRegistry::run(const char* what, const Work& work)
{
    _pool.run(what, work);
}

void SqliteRegistry::runImmediate(const char* what, const Work& work)
{
    _pool.runImmediate(what, work);
}

template <class... Args>
bool SqliteRegistry::update(const char* what, const std::string& sql, const Args&... args)
{
    int changed = 0;
    run(what, [&](Connection& c) {
        Statement st(c.db(), sql);
        changed = st.bindAll(args...).execute();
    });
    return changed > 0;
}

CreateResult SqliteRegistry::create(const ExportRecord& rec, const CreateLimits& limits)
{
    CreateResult result;
    runImmediate("create", [&](Connection& c) {
        Statement same(c.db(), sqlite::SELECT_RECORDS
                                   + "WHERE list_key = ? AND request_key = ? AND status IN ('queued','running')"
                                     " ORDER BY created_at LIMIT 1");
        same.bindAll(rec.listKey, rec.requestKey);
        if (same.step()) {
            result = {CreateOutcome::Existing, sqlite::rowToRecord(same.row())};
            return;
        }
        if (limits.maxActive > 0) {
            Statement active(c.db(), "SELECT COUNT(*) FROM exports WHERE limit_key = ? AND status IN ('queued','running')");
            if (active.bindAll(rec.limitKey).integerResult() >= limits.maxActive) {
                result = {CreateOutcome::TooMany, rec};
                return;
            }
        }
        if (limits.maxPerWindow > 0) {
            const std::int64_t since = rec.createdAt - limits.windowMs;
            Statement count(c.db(), "SELECT COUNT(*) FROM exports WHERE limit_key = ? AND created_at > ?");
            const std::int64_t recent = count.bindAll(rec.limitKey, since).integerResult();
            if (recent >= limits.maxPerWindow) {
                // The window frees a place when its oldest creation leaves it.
                Statement oldest(c.db(), "SELECT created_at FROM exports WHERE limit_key = ? AND created_at > ?"
                                         " ORDER BY created_at LIMIT 1 OFFSET ?");
                const std::int64_t leaves =
                    oldest.bindAll(rec.limitKey, since, std::int64_t(recent - limits.maxPerWindow)).integerResult();
                result = {CreateOutcome::TooFast, rec, std::max<Millis>(1, leaves + limits.windowMs - rec.createdAt)};
                return;
            }
        }
        sqlite::insertRecord(c, rec);
        result = {CreateOutcome::Created, rec};
    });
    return result;
}

std::optional<ExportRecord> SqliteRegistry::find(const std::string& id)
{
    std::optional<ExportRecord> found;
    run("find", [&](Connection& c) {
        found.reset();
        Statement st = c.kept(QUERY_FIND, keptSql(QUERY_FIND));
        st.bindStatic(1, id);
        if (st.step()) found = sqlite::rowToRecord(st.row());
    });
    return found;
}

void SqliteRegistry::readList(const char* what, std::size_t query, const std::string& listKey, int limit,
                              const std::function<void()>& restart, const std::function<void(const Row&)>& row)
{
    run(what, [&](Connection& c) {
        restart();
        Statement st = c.kept(query, keptSql(static_cast<KeptQuery>(query)));
        st.bindStatic(1, listKey).bind(2, std::int64_t(limit > 0 ? limit : -1));
        while (st.step()) row(st.row());
    });
}

std::vector<ExportRecord> SqliteRegistry::listByListKey(const std::string& listKey, int limit)
{
    std::vector<ExportRecord> found;
    readList(
        "listByListKey", QUERY_LIST, listKey, limit,
        [&] {
            found.clear();
            found.reserve(limit > 0 && limit <= 500 ? static_cast<std::size_t>(limit) : 16);
        },
        [&](const Row& row) { found.push_back(sqlite::rowToRecord(row)); });
    return found;
}

void SqliteRegistry::visitList(const std::string& listKey, int limit, ListVisitor& visitor)
{
    readList(
        "visitList", QUERY_LIST_VIEW, listKey, limit, [&] { visitor.restart(); },
        [&](const Row& row) { visitor.record(sqlite::rowToView(row)); });
}

bool SqliteRegistry::markRunning(const std::string& id, const std::string& instanceId, Millis at)
{
    return update("markRunning",
                  "UPDATE exports SET status = 'running', started_at = ?, instance_id = ?,"
                  " updated_at = ? WHERE id = ? AND status = 'queued'",
                  at, instanceId, at, id);
}

bool SqliteRegistry::updateProgress(const std::string& id, std::int64_t rowsWritten,
                                    std::optional<std::int64_t> rowsTotal)
{
    return update("updateProgress",
                  "UPDATE exports SET rows_written = ?, rows_total = COALESCE(?, rows_total)"
                  " WHERE id = ? AND status = 'running'",
                  rowsWritten, rowsTotal, id);
}

bool SqliteRegistry::markReady(const std::string& id, const FileInfo& file, Millis readyAt,
                               Millis expiresAt, const std::string& instanceId)
{
    return update("markReady",
                  "UPDATE exports SET status = 'ready', ready_at = ?, expires_at = ?,"
                  " scheduled_by = ?, file_name = ?, file_size_bytes = ?, file_rows = ?,"
                  " file_content_type = ?, file_sha256 = ?, rows_written = ?, updated_at = ?"
                  " WHERE id = ? AND status = 'running'",
                  readyAt, expiresAt, instanceId, file.name, file.sizeBytes, file.rows, file.contentType,
                  file.sha256, file.rows, readyAt, id);
}

bool SqliteRegistry::markFailed(const std::string& id, const std::string& code,
                                const std::string& message, Millis at)
{
    return update("markFailed",
                  "UPDATE exports SET status = 'failed', error_code = ?, error_message = ?,"
                  " failed_at = ?, updated_at = ? WHERE id = ? AND status IN ('queued','running')",
                  code, message, at, at, id);
}

bool SqliteRegistry::markDeleted(const std::string& id, Millis at)
{
    return update("markDeleted",
                  "UPDATE exports SET status = 'deleted', deleted_at = ?, updated_at = ?"
                  " WHERE id = ? AND (status IN ('queued','running')"
                  " OR (status = 'ready' AND expires_at > ?))",
                  at, at, id, at);
}

bool SqliteRegistry::markFileDeleted(const std::string& id, Millis at)
{
    return update("markFileDeleted", MARK_FILE_DELETED_SQL, at, id);
}

std::vector<bool> SqliteRegistry::markFilesDeleted(const std::vector<std::pair<std::string, Millis>>& deletions)
{
    std::vector<bool> done(deletions.size(), false);
    if (deletions.empty()) return done;
    // One transaction and one statement for the lot: a burst of expiries costs
    // one commit (and one write of each page it touches) per batch, not per file.
    run("markFilesDeleted", [&](Connection& c) {
        // The cleanup timer calls this: its commits must not run the WAL
        // checkpoint, which writes back and fsyncs thousands of pages (~100 ms
        // stalls of every deletion behind it, bench/RESULTS.md). The checkpoint is
        // left to the next other write: the sweeper's heartbeat, every 2 s, at the latest.
        sqlite3_wal_autocheckpoint(c.db(), 0);
        struct RestoreCheckpoints {
            sqlite3* db;
            ~RestoreCheckpoints() { sqlite3_wal_autocheckpoint(db, WAL_CHECKPOINT_PAGES); }
        } restore{c.db()};
        c.immediate("markFilesDeleted", [&] {
            Statement st(c.db(), MARK_FILE_DELETED_SQL);
            for (std::size_t i = 0; i < deletions.size(); ++i) {
                const auto& [id, at] = deletions[i];
                st.bind(1, at).bindStatic(2, id);
                done[i] = st.execute() > 0;
                st.reset();
            }
        });
    });
    return done;
}

bool SqliteRegistry::authorizeDownload(const std::string& id, Millis nowMs)
{
    return update("authorizeDownload",
                  "UPDATE exports SET download_count = download_count + 1"
                  " WHERE id = ? AND status = 'ready' AND expires_at > ?",
                  id, nowMs);
}

bool SqliteRegistry::authorizeDownloadAt(const std::string& id, const Clock& clock)
{
    return downloadGate(id, clock, true);
}

bool SqliteRegistry::checkDownloadAt(const std::string& id, const Clock& clock)
{
    return downloadGate(id, clock, false);
}

bool SqliteRegistry::downloadGate(const std::string& id, const Clock& clock, bool count)
{
    // A clock read before waiting for a busy database could let a download
    // through after its expires_at; so could a thread preempted between reading
    // the clock and applying (the e2e load test saw authorisations applied up to
    // 13 ms after expires_at). So the gate decides inside a write transaction,
    // with `clock` read once the write lock is held (afresh on a retry); and
    // when `clock` is the system's wall clock, SQLite's own reading of it inside
    // the statement (fixed for that sqlite3_step) bounds the decision too: it is
    // taken at the instant it applies. Tests (a ManualClock) and production
    // run the same statements; only ?3 differs.
    // Without counting, the same decision is a read of the same condition.
    static const std::string COUNT_SQL = "UPDATE exports SET download_count = download_count + 1" + GATE_WHERE;
    static const std::string CHECK_SQL = "SELECT 1 FROM exports" + GATE_WHERE;
    bool ok = false;
    runImmediate("authorizeDownload", [&](Connection& c) {
        Statement st(c.db(), count ? COUNT_SQL : CHECK_SQL);
        st.bindStatic(1, id).bind(2, clock.nowMs()).bind(3, std::int64_t(clock.registryMayReadSystemTime()));
        ok = count ? st.execute() > 0 : st.step();
    });
    return ok;
}

} // namespace exportd::cleanup
