// The registry's processes (leases), the sweeper's queries and the
// operator's: PgRegistry's members beyond the exports' own lifecycle
// (PgRegistry.cpp).
#include "PgRegistry.h"

#include "PgRows.h"

namespace exportd::cleanup {

using postgresql::PgRow;

namespace {

const std::string LIVE_INSTANCES = "(SELECT instance_id FROM instances WHERE heartbeat_at > $2::bigint)";

const char* const INTERRUPTED_MESSAGE =
    "The export was interrupted because the process running it stopped. Please generate a new export.";

} // namespace

void PgRegistry::heartbeat(const std::string& instanceId, Millis nowMs)
{
    // Committed without waiting for the disk, like updateProgress: a
    // heartbeat lost in a database crash is renewed by the next one, seconds
    // later, well within the lease.
    query("heartbeat",
          "INSERT INTO instances (instance_id, heartbeat_at)"
          " SELECT $1::text, $2::bigint FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"
          " ON CONFLICT (instance_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
          Params::of(instanceId, nowMs));
}

void PgRegistry::removeInstance(const std::string& instanceId)
{
    query("remove_instance", "DELETE FROM instances WHERE instance_id = $1", Params::of(instanceId));
}

std::vector<std::string> PgRegistry::liveInstances(Millis nowMs, Millis leaseMs)
{
    const Result r = query("live_instances",
                           "SELECT instance_id FROM instances WHERE heartbeat_at > $1 ORDER BY instance_id",
                           Params::of(nowMs - leaseMs));
    std::vector<std::string> ids;
    for (int i = 0; i < r.rows(); ++i) ids.push_back(r.text(i, 0));
    return ids;
}

std::vector<std::string> PgRegistry::failInterrupted(Millis nowMs, Millis leaseMs)
{
    // Rows another host is changing are skipped, not waited for: that host's
    // sweep, or the next one, has them.
    static const std::string SQL =
        "UPDATE exports SET status = 'failed', error_code = 'interrupted', error_message = $3,"
        " failed_at = $1, updated_at = $1 WHERE id IN (SELECT id FROM exports"
        " WHERE status IN ('queued','running') AND instance_id NOT IN " + LIVE_INSTANCES
        + " FOR UPDATE SKIP LOCKED) RETURNING id";
    const Result r = query("fail_interrupted", SQL, Params::of(nowMs, nowMs - leaseMs, INTERRUPTED_MESSAGE));
    std::vector<std::string> ids;
    for (int i = 0; i < r.rows(); ++i) ids.push_back(r.text(i, 0));
    return ids;
}

std::vector<ExportRecord> PgRegistry::overdueReady(Millis nowMs)
{
    static const std::string SQL =
        postgresql::SELECT_RECORDS + "WHERE status = 'ready' AND expires_at <= $1 ORDER BY expires_at";
    return records("overdue_ready", SQL, Params::of(nowMs));
}

std::vector<ExportRecord> PgRegistry::claimUnscheduled(const std::string& instanceId, Millis nowMs, Millis leaseMs)
{
    // Two hosts sweeping at once split the rows between them without waiting
    // for each other; what RETURNING gives is exactly what this call claimed.
    static const std::string SQL = std::string("UPDATE exports SET scheduled_by = $3 WHERE id IN (SELECT id FROM exports"
                                               " WHERE status = 'ready' AND expires_at > $1 AND scheduled_by NOT IN ")
                                   + LIVE_INSTANCES + " FOR UPDATE SKIP LOCKED) RETURNING " + RECORD_COLUMN_LIST;
    return records("claim_unscheduled", SQL, Params::of(nowMs, nowMs - leaseMs, instanceId));
}

int PgRegistry::purgeBefore(Millis cutoff)
{
    int purged = 0;
    _pool.transaction("purgeBefore", [&](Connection& c) {
        // A purge after a long stop may remove many rows at once.
        const postgresql::ReplyTimeout longer(c, 65000);
        c.exec("SET LOCAL statement_timeout = '60s'");
        purged = c.execPrepared("purge_exports",
                                "DELETE FROM exports WHERE updated_at < $1 AND (status IN ('deleted','failed')"
                                " OR (status = 'expired' AND file_deleted_at IS NOT NULL))",
                                Params::of(cutoff))
                     .affected();
        c.execPrepared("purge_instances", "DELETE FROM instances WHERE heartbeat_at < $1", Params::of(cutoff));
    });
    return purged;
}

std::int64_t PgRegistry::bytesHeld(const std::string& limitKey)
{
    return query("bytes_held",
                 "SELECT COALESCE(SUM(file_size_bytes), 0)::bigint FROM exports WHERE limit_key = $1"
                 " AND status IN ('ready','expired') AND file_deleted_at IS NULL",
                 Params::of(limitKey))
        .integer(0, 0);
}

std::string PgRegistry::sharedSecret(const std::string& name, const std::string& candidate)
{
    std::string value;
    _pool.run("sharedSecret", [&](Connection& c) {
        // Two statements: the SELECT's snapshot then sees a row another host
        // inserted while this INSERT waited for it.
        c.execPrepared("secret_insert", "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                       Params::of(name, candidate));
        const Result r = c.execPrepared("secret_select", "SELECT value FROM secrets WHERE name = $1", Params::of(name));
        value = r.rows() > 0 ? r.text(0, 0) : std::string();
    });
    return value;
}

void PgRegistry::ping()
{
    // A read of a table, not just "SELECT 1": the registry's tables must answer.
    query("ping", "SELECT count(*) FROM (SELECT 1 FROM instances LIMIT 1) AS one", Params());
}

std::int64_t PgRegistry::countPendingCleanups()
{
    return query("count_pending", "SELECT count(*) FROM exports WHERE status = 'ready' AND file_deleted_at IS NULL",
                 Params())
        .integer(0, 0);
}

std::optional<Millis> PgRegistry::oldestOverdue(Millis nowMs)
{
    return query("oldest_overdue", "SELECT MIN(expires_at) FROM exports WHERE status = 'ready' AND expires_at <= $1",
                 Params::of(nowMs))
        .optInteger(0, 0);
}

Millis PgRegistry::registryNow()
{
    static const std::string SQL = "SELECT " + postgresql::DB_NOW_MS;
    return query("registry_now", SQL, Params()).integer(0, 0);
}

std::vector<PendingExpiry> PgRegistry::pendingSince(Millis since, int limit)
{
    const Result r = query("pending_since",
                           "SELECT id, ready_at, expires_at, scheduled_by FROM exports"
                           " WHERE status = 'ready' AND ready_at >= $1 AND file_deleted_at IS NULL"
                           " ORDER BY ready_at, id LIMIT $2::bigint",
                           Params::of(since, postgresql::limitParam(limit)));
    std::vector<PendingExpiry> found;
    found.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) found.push_back({r.text(i, 0), r.integer(i, 1), r.integer(i, 2), r.text(i, 3)});
    return found;
}

} // namespace exportd::cleanup
