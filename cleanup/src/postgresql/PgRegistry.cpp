#include "PgRegistry.h"

#include "PgRows.h"
#include "PgSchema.h"

#include <algorithm>

namespace exportd::cleanup {

using postgresql::PgRow;

namespace {

// Connections per registry: like the SQLite registry's pool, enough for the
// request threads, the export jobs and the cleanup timer at once.
constexpr std::size_t MAX_CONNECTIONS = 16;
// Batches of markFilesDeleted: 1,000 rows took 9-15 ms with the commit.
constexpr std::size_t DELETION_BATCH = 1000;

postgresql::ConnectOptions registryOptions()
{
    postgresql::ConnectOptions options;
    // A dead database fails a request in about 3 s, never hangs it: the
    // connect timeout (3 s: on a loaded machine starting a backend took more
    // than 2 s), the statement timeout (2 s: a registry statement takes a
    // millisecond, the rest is waiting for a lock) and the client's own
    // deadline for a reply, a little longer so that a live server's timeout
    // speaks first.
    options.connectTimeoutSeconds = 3;
    options.statementTimeoutMs = 2000;
    options.replyTimeoutMs = 2500;
    options.tcpUserTimeoutMs = 3000;
    options.applicationName = "exportd registry";
    return options;
}

const std::string MARK_FILE_DELETED_SET =
    "SET status = CASE e.status WHEN 'ready' THEN 'expired' ELSE e.status END,";

const std::string MARK_FILE_DELETED_WHERE =
    " AND e.file_deleted_at IS NULL AND e.status IN ('ready','expired','deleted','failed')";

} // namespace

PgRegistry::PgRegistry(const std::string& conninfo) : _pool(conninfo, registryOptions(), MAX_CONNECTIONS)
{
    _pool.run("create schema", [](Connection& c) { postgresql::createSchema(c); });
}

PgRegistry::~PgRegistry() = default;

PgRegistry::Result PgRegistry::query(const char* name, const std::string& sql, const Params& params)
{
    Result result;
    _pool.run(name, [&](Connection& c) { result = c.execPrepared(name, sql, params); });
    return result;
}

bool PgRegistry::update(const char* name, const std::string& sql, const Params& params)
{
    return query(name, sql, params).affected() > 0;
}

std::vector<ExportRecord> PgRegistry::records(const char* name, const std::string& sql, const Params& params)
{
    return postgresql::records(query(name, sql, params));
}

CreateResult PgRegistry::create(const ExportRecord& rec, const CreateLimits& limits)
{
    static const std::string SAME = postgresql::SELECT_RECORDS
                                    + "WHERE list_key = $1 AND request_key = $2 AND status IN ('queued','running')"
                                      " ORDER BY created_at LIMIT 1";
    static const std::string INSERT = std::string("INSERT INTO exports (") + RECORD_COLUMN_LIST
                                      + ", updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,"
                                        "$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,$30)";
    const Millis since = rec.createdAt - limits.windowMs;
    CreateResult result;
    _pool.transaction("create", [&](Connection& c) {
        // The double-click lookup, the limits and the insert must see every
        // other host's creations for the same owner: a lock on the limit key
        // (and the list key: the double-click rule's), until COMMIT, taken
        // in one order so that two creations never wait for each other.
        c.execPrepared("create_lock",
                       "SELECT pg_advisory_xact_lock(hashtext('exportd create'), h) FROM"
                       " (SELECT DISTINCT hashtext(k) AS h FROM unnest(ARRAY[$1::text, $2::text]) AS k ORDER BY 1)"
                       " AS keys",
                       Params::of(rec.limitKey, rec.listKey));
        const Result same = c.execPrepared("create_same", SAME, Params::of(rec.listKey, rec.requestKey));
        if (same.rows() > 0) {
            result = {CreateOutcome::Existing, readRecord(PgRow{same, 0})};
            return;
        }
        const Result counts = c.execPrepared(
            "create_counts",
            "SELECT (SELECT count(*) FROM exports WHERE limit_key = $1 AND status IN ('queued','running')),"
            " (SELECT count(*) FROM exports WHERE limit_key = $1 AND created_at > $2::bigint)",
            Params::of(rec.limitKey, since));
        if (limits.maxActive > 0 && counts.integer(0, 0) >= limits.maxActive) {
            result = {CreateOutcome::TooMany, rec};
            return;
        }
        const std::int64_t recent = counts.integer(0, 1);
        if (limits.maxPerWindow > 0 && recent >= limits.maxPerWindow) {
            // The window frees a place when its oldest creation leaves it.
            const Result oldest = c.execPrepared("create_oldest",
                                                 "SELECT created_at FROM exports WHERE limit_key = $1"
                                                 " AND created_at > $2::bigint ORDER BY created_at LIMIT 1 OFFSET $3",
                                                 Params::of(rec.limitKey, since, recent - limits.maxPerWindow));
            const Millis leaves = oldest.rows() > 0 ? oldest.integer(0, 0) : rec.createdAt;
            result = {CreateOutcome::TooFast, rec, std::max<Millis>(1, leaves + limits.windowMs - rec.createdAt)};
            return;
        }
        c.execPrepared("create_insert", INSERT,
                       Params::of(rec.id, rec.ownerKey, rec.listKey, rec.limitKey, rec.requestKey,
                                  toString(rec.status), rec.dataset, rec.format,
                                  rec.filtersJson.empty() ? std::string("{}") : rec.filtersJson,
                                  rec.retentionSeconds, rec.createdAt, rec.startedAt, rec.readyAt, rec.expiresAt,
                                  rec.fileDeletedAt, rec.deletedAt, rec.failedAt, rec.rowsWritten, rec.rowsTotal,
                                  rec.file.name, rec.file.sizeBytes, rec.file.rows, rec.file.contentType,
                                  rec.file.sha256, rec.errorCode, rec.errorMessage, rec.downloadCount,
                                  rec.instanceId, rec.scheduledBy, rec.createdAt));
        result = {CreateOutcome::Created, rec};
    });
    return result;
}

std::optional<ExportRecord> PgRegistry::find(const std::string& id)
{
    static const std::string SQL = postgresql::SELECT_RECORDS + "WHERE id = $1";
    const Result r = query("find", SQL, Params::of(id));
    if (r.rows() == 0) return std::nullopt;
    return readRecord(PgRow{r, 0});
}

std::vector<ExportRecord> PgRegistry::listByListKey(const std::string& listKey, int limit)
{
    static const std::string SQL =
        postgresql::SELECT_RECORDS + "WHERE list_key = $1 ORDER BY created_at DESC, id LIMIT $2::bigint";
    return records("list", SQL, Params::of(listKey, postgresql::limitParam(limit)));
}

void PgRegistry::visitList(const std::string& listKey, int limit, ListVisitor& visitor)
{
    static const std::string SQL = std::string("SELECT ") + VIEW_COLUMN_LIST
                                   + " FROM exports WHERE list_key = $1 ORDER BY created_at DESC, id LIMIT $2::bigint";
    const Result r = query("list_view", SQL, Params::of(listKey, postgresql::limitParam(limit)));
    visitor.restart();
    for (int i = 0; i < r.rows(); ++i) visitor.record(readView(PgRow{r, i}));
}

bool PgRegistry::markRunning(const std::string& id, const std::string& instanceId, Millis at)
{
    return update("mark_running",
                  "UPDATE exports SET status = 'running', started_at = $1, instance_id = $2, updated_at = $1"
                  " WHERE id = $3 AND status = 'queued'",
                  Params::of(at, instanceId, id));
}

bool PgRegistry::updateProgress(const std::string& id, std::int64_t rowsWritten,
                                std::optional<std::int64_t> rowsTotal)
{
    // Committed without waiting for the disk (synchronous_commit off for this
    // transaction alone): progress is for show, and a crash that loses the
    // last update shows an older count on a job the sweeper then marks
    // interrupted anyway. The only other such write is the heartbeat.
    return update("update_progress",
                  "UPDATE exports SET rows_written = $1, rows_total = COALESCE($2::bigint, rows_total)"
                  " FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"
                  " WHERE id = $3 AND status = 'running'",
                  Params::of(rowsWritten, rowsTotal, id));
}

bool PgRegistry::markReady(const std::string& id, const FileInfo& file, Millis readyAt, Millis expiresAt,
                           const std::string& instanceId)
{
    return update("mark_ready",
                  "UPDATE exports SET status = 'ready', ready_at = $1, expires_at = $2, scheduled_by = $3,"
                  " file_name = $4, file_size_bytes = $5, file_rows = $6, file_content_type = $7, file_sha256 = $8,"
                  " rows_written = $6, updated_at = $1 WHERE id = $9 AND status = 'running'",
                  Params::of(readyAt, expiresAt, instanceId, file.name, file.sizeBytes, file.rows, file.contentType,
                             file.sha256, id));
}

bool PgRegistry::markFailed(const std::string& id, const std::string& code, const std::string& message, Millis at)
{
    return update("mark_failed",
                  "UPDATE exports SET status = 'failed', error_code = $1, error_message = $2, failed_at = $3,"
                  " updated_at = $3 WHERE id = $4 AND status IN ('queued','running')",
                  Params::of(code, message, at, id));
}

bool PgRegistry::markDeleted(const std::string& id, Millis at)
{
    return update("mark_deleted",
                  "UPDATE exports SET status = 'deleted', deleted_at = $1, updated_at = $1"
                  " WHERE id = $2 AND (status IN ('queued','running') OR (status = 'ready' AND expires_at > $1))",
                  Params::of(at, id));
}

bool PgRegistry::markFileDeleted(const std::string& id, Millis at)
{
    static const std::string SQL = "UPDATE exports AS e " + MARK_FILE_DELETED_SET
                                   + " file_deleted_at = $1, updated_at = $1 WHERE e.id = $2" + MARK_FILE_DELETED_WHERE;
    return update("mark_file_deleted", SQL, Params::of(at, id));
}

std::vector<bool> PgRegistry::markFilesDeleted(const std::vector<std::pair<std::string, Millis>>& deletions)
{
    // One statement per batch (unnest of two arrays), its rows locked first in
    // id order: two hosts recording overlapping batches in their own orders
    // deadlocked (40P01) otherwise.
    static const std::string UPDATE_SQL =
        "UPDATE exports AS e " + MARK_FILE_DELETED_SET
        + " file_deleted_at = d.at, updated_at = d.at FROM unnest($1::text[], $2::bigint[]) AS d(id, at)"
          " WHERE e.id = d.id" + MARK_FILE_DELETED_WHERE + " RETURNING e.id";
    std::vector<bool> done(deletions.size(), false);
    for (std::size_t from = 0; from < deletions.size(); from += DELETION_BATCH) {
        const std::size_t to = std::min(deletions.size(), from + DELETION_BATCH);
        std::vector<std::string> ids;
        std::vector<std::int64_t> times;
        for (std::size_t i = from; i < to; ++i) {
            ids.push_back(deletions[i].first);
            times.push_back(deletions[i].second);
        }
        const Params params = Params::of(postgresql::textArray(ids), postgresql::bigintArray(times));
        std::vector<std::string> applied;
        _pool.transaction("markFilesDeleted", [&](Connection& c) {
            c.execPrepared("lock_for_deletion",
                           "SELECT id FROM exports WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE",
                           Params::of(postgresql::textArray(ids)));
            const Result r = c.execPrepared("mark_files_deleted", UPDATE_SQL, params);
            applied.clear();
            for (int i = 0; i < r.rows(); ++i) applied.push_back(r.text(i, 0));
        });
        // An id given twice applied once: to its first occurrence.
        std::sort(applied.begin(), applied.end());
        for (std::size_t i = from; i < to; ++i) {
            auto it = std::lower_bound(applied.begin(), applied.end(), deletions[i].first);
            if (it != applied.end() && *it == deletions[i].first) {
                done[i] = true;
                applied.erase(it);
            }
        }
    }
    return done;
}

bool PgRegistry::authorizeDownload(const std::string& id, Millis nowMs)
{
    return update("authorize_download",
                  "UPDATE exports SET download_count = download_count + 1"
                  " WHERE id = $1 AND status = 'ready' AND expires_at > $2",
                  Params::of(id, nowMs));
}

// Whose clock decides the gate: with the system's wall clock (production),
// the database's clock_timestamp() alone, read by the statement itself; a
// host's clock, even aligned to the database's (RegistryClock), is off by its
// measurement's error and refused downloads a few ms before expires_at after a
// database restart (docs/operations.md, Several hosts). A test's manual clock
// decides by itself.
namespace {

std::optional<std::int64_t> gateBound(const Clock& clock)
{
    if (clock.registryMayReadSystemTime()) return std::nullopt;
    return clock.nowMs();
}

bool gateOpen(const postgresql::Result& r, const Clock& clock)
{
    if (r.rows() == 0) return false;
    const Millis now = clock.registryMayReadSystemTime() ? r.integer(0, 1) : clock.nowMs();
    return r.integer(0, 0) > now;
}

} // namespace

bool PgRegistry::authorizeDownloadAt(const std::string& id, const Clock& clock)
{
    // The row is counted first, which takes its lock (waiting for any other
    // transaction that holds it), and the decision is taken after, with the
    // database's clock_timestamp() read once the row is locked; a late
    // decision undoes the count. Deciding in the UPDATE's WHERE would not do:
    // PostgreSQL evaluates it before waiting for the lock, and evaluates it
    // again afterwards only if the holder changed the row. All of it runs in
    // the database (exportd_download_gate, PgSchema.cpp): one round trip, one
    // autocommit statement, and a reply lost with its connection is never
    // sent again (runNoResend): the download fails with 503 rather than being
    // counted twice.
    static const std::string SQL = "SELECT exportd_download_gate($1, $2::bigint)";
    bool ok = false;
    _pool.runNoResend("authorizeDownload", [&](Connection& c) {
        Params params;
        params.add(id).add(gateBound(clock));
        const Result r = c.execPrepared("gate_count", SQL, params);
        ok = r.rows() > 0 && r.boolean(0, 0);
    });
    return ok;
}

bool PgRegistry::checkDownloadAt(const std::string& id, const Clock& clock)
{
    // Without counting, the same decision is a read: it waits for no lock.
    static const std::string SQL =
        "SELECT expires_at, " + postgresql::DB_NOW_MS + " FROM exports WHERE id = $1 AND status = 'ready'";
    return gateOpen(query("gate_check", SQL, Params::of(id)), clock);
}

} // namespace exportd::cleanup
