#pragma once

#include "SqlitePool.h"

#include "cleanup/Registry.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace exportd::cleanup {

/// The Registry on one SQLite file (WAL, synchronous=NORMAL), through the
/// SQLite C API (sqlite/SqliteConnection.h).
///
/// Holds a small pool of connections; each call borrows one for its duration, so
/// any number of threads may call at once, and other processes may open the same
/// file. A ":memory:" registry has exactly one connection (each SQLite connection
/// to ":memory:" is a database of its own). Every transition is one conditional
/// UPDATE; create(), failInterrupted(), claimUnscheduled(), purgeBefore(),
/// markFilesDeleted() and the download gate run in a BEGIN IMMEDIATE
/// transaction. SQLITE_BUSY is waited out (busy timeout, then retries with
/// backoff) for a bounded time, then RegistryError is thrown.
/// Lives as long as its owner; connections close with it.
class SqliteRegistry : public Registry {
public:
    /// `path` is a file name or ":memory:". Creates the schema if missing.
    explicit SqliteRegistry(const std::string& path);
    ~SqliteRegistry() override;

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
    /// The system clock: the database file has no clock of its own, and every
    /// process that may open it runs on this host's kernel.
    Millis registryNow() override;
    std::vector<PendingExpiry> pendingSince(Millis since, int limit) override;

private:
    using Connection = sqlite::Connection;
    using Work = sqlite::ConnectionPool::Work;

    /// authorizeDownloadAt (count) and checkDownloadAt (no count).
    bool downloadGate(const std::string& id, const Clock& clock, bool count);

    /// Runs `work` on a pooled connection, retrying it while the database is busy.
    void run(const char* what, const Work& work);
    /// As run(), inside BEGIN IMMEDIATE ... COMMIT (rolled back on any error).
    void runImmediate(const char* what, const Work& work);
    /// One conditional UPDATE with `args` bound in order; true if it changed a row.
    template <class... Args>
    bool update(const char* what, const std::string& sql, const Args&... args);
    /// Steps through a list's rows (`query`: one of the kept list statements),
    /// calling `restart` before the first and again on a busy retry.
    void readList(const char* what, std::size_t query, const std::string& listKey, int limit,
                  const std::function<void()>& restart, const std::function<void(const sqlite::Row&)>& row);

    bool _memory;
    sqlite::ConnectionPool _pool;
};

} // namespace exportd::cleanup
