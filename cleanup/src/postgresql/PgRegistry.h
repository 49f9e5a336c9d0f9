#pragma once

#include "PgPool.h"

#include "cleanup/Registry.h"

#include <string>
#include <vector>

namespace exportd::cleanup {

/// The Registry on a PostgreSQL database, through libpq
/// (cleanup/postgresql/Connection.h), shared by every host of a cluster.
///
/// Same semantics as SqliteRegistry, checked by the same tests. Holds a
/// bounded pool of connections (postgresql/PgPool.h); each call borrows one,
/// so any number of threads may call at once; every statement is prepared
/// once per connection. Every transition is one conditional UPDATE. create()
/// is serialised per owner across hosts by a transaction-scoped advisory
/// lock; the sweeper's claims skip rows another host holds (FOR UPDATE SKIP
/// LOCKED); the download gate decides with the database's clock read while
/// the row lock is held. An unreachable database is a RegistryError within a
/// few seconds (docs/operations.md, "PostgreSQL registry").
/// Lives as long as its owner; connections close with it.
class PgRegistry : public Registry {
public:
    /// `conninfo`: a libpq URI or key=value string. Connects once and creates
    /// the schema if missing; throws RegistryError (no password in it).
    explicit PgRegistry(const std::string& conninfo);
    ~PgRegistry() override;

    // Every member of Registry, as SqliteRegistry lists them too.

    CreateResult create(const ExportRecord& rec, const CreateLimits& limits) override;
    std::optional<ExportRecord> find(const std::string& id) override;
    std::vector<ExportRecord> listByListKey(const std::string& listKey, int limit) override;
    void visitList(const std::string& listKey, int limit, ListVisitor& visitor) override;

    bool markRunning(const std::string& id, const std::string& instanceId, Millis at) override;
    bool updateProgress(const std::string& id, std::int64_t rowsWritten,
                        std::optional<std::int64_t> rowsTotal) override;
    bool markReady(const std::string& id, const FileInfo& file, Millis readyAt, Millis expiresAt,
                   const std::string& instanceId) override;
    bool markFailed(const std::string& id, const std::string& code, const std::string& message,
                    Millis at) override;
    bool markDeleted(const std::string& id, Millis at) override;
    bool markFileDeleted(const std::string& id, Millis at) override;
    std::vector<bool> markFilesDeleted(const std::vector<std::pair<std::string, Millis>>& deletions) override;
    bool authorizeDownload(const std::string& id, Millis now) override;
    bool authorizeDownloadAt(const std::string& id, const Clock& clock) override;
    bool checkDownloadAt(const std::string& id, const Clock& clock) override;

    void heartbeat(const std::string& instanceId, Millis now) override;
    void removeInstance(const std::string& instanceId) override;
    std::vector<std::string> liveInstances(Millis now, Millis leaseMs) override;

    std::vector<std::string> failInterrupted(Millis now, Millis leaseMs) override;
    std::vector<ExportRecord> overdueReady(Millis now) override;
    std::vector<ExportRecord> claimUnscheduled(const std::string& instanceId, Millis now,
                                               Millis leaseMs) override;
    int purgeBefore(Millis cutoff) override;

    std::int64_t bytesHeld(const std::string& limitKey) override;
    std::string sharedSecret(const std::string& name, const std::string& candidate) override;

    void ping() override;
    std::int64_t countPendingCleanups() override;
    std::optional<Millis> oldestOverdue(Millis now) override;
    /// clock_timestamp() of the database server, in ms.
    Millis registryNow() override;
    std::vector<PendingExpiry> pendingSince(Millis since, int limit) override;

private:
    using Connection = postgresql::Connection;
    using Params = postgresql::Params;
    using Result = postgresql::Result;

    /// One statement (prepared as `name`) on a pooled connection.
    Result query(const char* name, const std::string& sql, const Params& params);
    /// One conditional UPDATE; true if it changed a row.
    bool update(const char* name, const std::string& sql, const Params& params);
    std::vector<ExportRecord> records(const char* name, const std::string& sql, const Params& params);

    postgresql::ConnectionPool _pool;
};

} // namespace exportd::cleanup
