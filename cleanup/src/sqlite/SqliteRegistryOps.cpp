// The registry's processes (leases), the sweeper's queries and the
// operator's: SqliteRegistry's members beyond the exports' own lifecycle
// (SqliteRegistry.cpp).
#include "SqliteRegistry.h"

#include "SqliteRows.h"

namespace exportd::cleanup {

using sqlite::Statement;

namespace {

const std::string LIVE_INSTANCES = "(SELECT instance_id FROM instances WHERE heartbeat_at > ?)";

const std::string INTERRUPTED_WHERE =
    "WHERE status IN ('queued','running') AND instance_id NOT IN " + LIVE_INSTANCES;

const std::string UNSCHEDULED_WHERE =
    "WHERE status = 'ready' AND expires_at > ? AND scheduled_by NOT IN " + LIVE_INSTANCES;

const char* const INTERRUPTED_MESSAGE =
    "The export was interrupted because the process running it stopped. Please generate a new export.";

} // namespace

void SqliteRegistry::heartbeat(const std::string& instanceId, Millis nowMs)
{
    run("heartbeat", [&](Connection& c) {
        Statement st(c.db(), "INSERT INTO instances (instance_id, heartbeat_at) VALUES (?, ?)"
                             " ON CONFLICT (instance_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at");
        st.bindAll(instanceId, nowMs).execute();
    });
}

void SqliteRegistry::removeInstance(const std::string& instanceId)
{
    run("removeInstance", [&](Connection& c) {
        Statement st(c.db(), "DELETE FROM instances WHERE instance_id = ?");
        st.bindAll(instanceId).execute();
    });
}

std::vector<std::string> SqliteRegistry::liveInstances(Millis nowMs, Millis leaseMs)
{
    std::vector<std::string> ids;
    run("liveInstances", [&](Connection& c) {
        ids.clear();
        Statement st(c.db(), "SELECT instance_id FROM instances WHERE heartbeat_at > ? ORDER BY instance_id");
        st.bindAll(nowMs - leaseMs);
        while (st.step()) ids.push_back(st.row().text(0));
    });
    return ids;
}

std::vector<std::string> SqliteRegistry::failInterrupted(Millis nowMs, Millis leaseMs)
{
    std::vector<std::string> ids;
    const std::int64_t liveAfter = nowMs - leaseMs;
    runImmediate("failInterrupted", [&](Connection& c) {
        ids.clear();
        Statement select(c.db(), "SELECT id FROM exports " + INTERRUPTED_WHERE);
        select.bindAll(liveAfter);
        while (select.step()) ids.push_back(select.row().text(0));
        if (ids.empty()) return;
        Statement fail(c.db(), "UPDATE exports SET status = 'failed', error_code = 'interrupted', error_message = ?,"
                               " failed_at = ?, updated_at = ? " + INTERRUPTED_WHERE);
        fail.bindAll(INTERRUPTED_MESSAGE, nowMs, nowMs, liveAfter).execute();
    });
    return ids;
}

std::vector<ExportRecord> SqliteRegistry::overdueReady(Millis nowMs)
{
    std::vector<ExportRecord> found;
    run("overdueReady", [&](Connection& c) {
        Statement st(c.db(), sqlite::SELECT_RECORDS + "WHERE status = 'ready' AND expires_at <= ? ORDER BY expires_at");
        st.bindAll(nowMs);
        found = sqlite::records(st);
    });
    return found;
}

std::vector<ExportRecord> SqliteRegistry::claimUnscheduled(const std::string& instanceId,
                                                           Millis nowMs, Millis leaseMs)
{
    std::vector<ExportRecord> claimed;
    const std::int64_t liveAfter = nowMs - leaseMs;
    runImmediate("claimUnscheduled", [&](Connection& c) {
        Statement select(c.db(), sqlite::SELECT_RECORDS + UNSCHEDULED_WHERE);
        select.bindAll(nowMs, liveAfter);
        claimed = sqlite::records(select);
        if (claimed.empty()) return;
        Statement claim(c.db(), "UPDATE exports SET scheduled_by = ? " + UNSCHEDULED_WHERE);
        claim.bindAll(instanceId, nowMs, liveAfter).execute();
    });
    for (auto& r : claimed) r.scheduledBy = instanceId;
    return claimed;
}

int SqliteRegistry::purgeBefore(Millis cutoff)
{
    int purged = 0;
    // One transaction: outside one, a second DELETE that stayed busy made run()
    // retry both after the first had committed, and the retry reported 0.
    runImmediate("purgeBefore", [&](Connection& c) {
        Statement exports(c.db(), "DELETE FROM exports WHERE updated_at < ? AND (status IN ('deleted','failed')"
                                  " OR (status = 'expired' AND file_deleted_at IS NOT NULL))");
        purged = exports.bindAll(cutoff).execute();
        Statement instances(c.db(), "DELETE FROM instances WHERE heartbeat_at < ?");
        instances.bindAll(cutoff).execute();
    });
    return purged;
}

std::int64_t SqliteRegistry::bytesHeld(const std::string& limitKey)
{
    std::int64_t bytes = 0;
    run("bytesHeld", [&](Connection& c) {
        Statement st(c.db(), "SELECT COALESCE(SUM(file_size_bytes), 0) FROM exports WHERE limit_key = ?"
                             " AND status IN ('ready','expired') AND file_deleted_at IS NULL");
        bytes = st.bindAll(limitKey).integerResult();
    });
    return bytes;
}

std::string SqliteRegistry::sharedSecret(const std::string& name, const std::string& candidate)
{
    std::string value;
    run("sharedSecret", [&](Connection& c) {
        Statement insert(c.db(), "INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING");
        insert.bindAll(name, candidate).execute();
        Statement select(c.db(), "SELECT value FROM secrets WHERE name = ?");
        select.bindAll(name);
        value = select.step() ? select.row().text(0) : std::string();
    });
    return value;
}

void SqliteRegistry::ping()
{
    // A read of a table, not just "SELECT 1": the database file must answer.
    run("ping", [](Connection& c) {
        Statement st(c.db(), "SELECT COUNT(*) FROM (SELECT 1 FROM instances LIMIT 1)");
        st.integerResult();
    });
}

std::int64_t SqliteRegistry::countPendingCleanups()
{
    std::int64_t n = 0;
    run("countPendingCleanups", [&](Connection& c) {
        Statement st(c.db(), "SELECT COUNT(*) FROM exports WHERE status = 'ready' AND file_deleted_at IS NULL");
        n = st.integerResult();
    });
    return n;
}

std::optional<Millis> SqliteRegistry::oldestOverdue(Millis nowMs)
{
    std::optional<Millis> oldest;
    run("oldestOverdue", [&](Connection& c) {
        Statement st(c.db(), "SELECT MIN(expires_at) FROM exports WHERE status = 'ready' AND expires_at <= ?");
        oldest = st.bindAll(nowMs).optIntegerResult();
    });
    return oldest;
}

Millis SqliteRegistry::registryNow()
{
    return SystemClock().nowMs();
}

std::vector<PendingExpiry> SqliteRegistry::pendingSince(Millis since, int limit)
{
    std::vector<PendingExpiry> found;
    run("pendingSince", [&](Connection& c) {
        found.clear();
        Statement st(c.db(), "SELECT id, ready_at, expires_at, scheduled_by FROM exports"
                             " WHERE status = 'ready' AND ready_at >= ? AND file_deleted_at IS NULL"
                             " ORDER BY ready_at, id LIMIT ?");
        st.bindAll(since, std::int64_t(limit > 0 ? limit : -1));
        while (st.step()) {
            const sqlite::Row row = st.row();
            found.push_back({row.text(0), row.integer(1), row.integer(2), row.text(3)});
        }
    });
    return found;
}

} // namespace exportd::cleanup
