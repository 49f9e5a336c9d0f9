#pragma once

#include "cleanup/ExportRecord.h"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace exportd::cleanup {

/// Thrown when the registry cannot be reached or answers with an error that is
/// not a lost race (a lost race is a `false` return, never an exception).
class RegistryError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Receives the records of a list one by one (Registry::visitList).
class ListVisitor {
public:
    virtual ~ListVisitor() = default;
    /// Called before the first record, and again if the registry has to read
    /// the list anew (a busy retry): forget what the records before it gave.
    virtual void restart() = 0;
    /// One record; the view's text is valid only during this call.
    virtual void record(const ExportView& view) = 0;
};

enum class CreateOutcome {
    Created,   ///< the record was inserted
    Existing,  ///< an equal request of the same list (same listKey and requestKey) is queued or running: returned instead
    TooMany,   ///< limitKey already has maxActive queued/running exports: nothing inserted
    TooFast    ///< limitKey created maxPerWindow exports within the window: nothing inserted
};

/// The limits create() checks, per limitKey, in the same transaction as the insert.
struct CreateLimits {
    int maxActive = 0;      ///< queued or running at once; 0 = no limit
    int maxPerWindow = 0;   ///< created within the last windowMs; 0 = no limit
    Millis windowMs = 0;

    CreateLimits() = default;
    /// Only the active limit (the tests' and the sweeper-less callers' form).
    CreateLimits(int active) : maxActive(active) {} // NOLINT: implicit on purpose
};

struct CreateResult {
    CreateOutcome outcome = CreateOutcome::Created;
    ExportRecord record;   ///< the inserted or the existing record
    Millis retryAfterMs = 0; ///< TooFast: when the oldest creation in the window leaves it
};

/// A ready export whose file is still present (Registry::pendingSince).
struct PendingExpiry {
    std::string id;
    Millis readyAt = 0;
    Millis expiresAt = 0;
    std::string scheduledBy;
};

/// The durable, shared record of every export and of every live exportd process.
///
/// Every state change is one conditional update: it applies only when the record
/// is in the expected state, and returns false otherwise, so two processes (or two
/// threads) never both apply one transition. Implementations are thread-safe and
/// may be shared by all threads of a process; several processes may share one
/// registry. Times are Millis (UTC epoch ms).
class Registry {
public:
    virtual ~Registry() = default;

    /// Inserts `rec` unless the double-click rule or a per-owner limit says
    /// otherwise; the checks and the insert are one transaction. The double-click
    /// rule matches only records of the same listKey (one session or one
    /// identity): a request is never merged with another session's.
    virtual CreateResult create(const ExportRecord& rec, const CreateLimits& limits) = 0;

    virtual std::optional<ExportRecord> find(const std::string& id) = 0;

    /// Newest first (created_at descending, then id).
    virtual std::vector<ExportRecord> listByListKey(const std::string& listKey, int limit) = 0;

    /// The same records in the same order, handed to `visitor` as they are read
    /// instead of copied into ExportRecords (the page's list is a hot path).
    virtual void visitList(const std::string& listKey, int limit, ListVisitor& visitor) = 0;

    // --- job transitions -------------------------------------------------
    /// queued -> running (sets started_at, instance_id).
    virtual bool markRunning(const std::string& id, const std::string& instanceId, Millis at) = 0;
    /// while running: rows_written / rows_total.
    virtual bool updateProgress(const std::string& id, std::int64_t rowsWritten,
                                std::optional<std::int64_t> rowsTotal) = 0;
    /// running -> ready with the file, ready_at, expires_at; scheduled_by = instanceId.
    virtual bool markReady(const std::string& id, const FileInfo& file, Millis readyAt,
                           Millis expiresAt, const std::string& instanceId) = 0;
    /// queued|running -> failed with error code and message.
    virtual bool markFailed(const std::string& id, const std::string& code,
                            const std::string& message, Millis at) = 0;
    /// Owner's discard: queued|running, or ready with expires_at > at -> deleted.
    virtual bool markDeleted(const std::string& id, Millis at) = 0;
    /// The bytes are gone: ready -> expired with file_deleted_at = at. For a record
    /// already expired/deleted/failed whose file_deleted_at is null, sets it and
    /// returns true too; returns false when it was already set (nothing to do).
    virtual bool markFileDeleted(const std::string& id, Millis at) = 0;
    /// markFileDeleted() for many exports, each with its own time, in one
    /// transaction where the registry has them; done[i] is markFileDeleted's
    /// answer for deletions[i]. The default applies them one by one.
    virtual std::vector<bool> markFilesDeleted(const std::vector<std::pair<std::string, Millis>>& deletions)
    {
        std::vector<bool> done;
        done.reserve(deletions.size());
        for (const auto& [id, at] : deletions) done.push_back(markFileDeleted(id, at));
        return done;
    }
    /// The download gate: if ready and now < expires_at, download_count += 1 and
    /// true; else false. Expiry is enforced here, at access time.
    virtual bool authorizeDownload(const std::string& id, Millis now) = 0;
    /// The same gate, deciding with `clock` read once the registry is ready to
    /// apply the change (after any wait for a lock, afresh on each retry): a
    /// time read before a wait could authorise a download after expires_at.
    /// The default reads the clock first, which is only right for a registry
    /// that never waits.
    virtual bool authorizeDownloadAt(const std::string& id, const Clock& clock)
    {
        return authorizeDownload(id, clock.nowMs());
    }
    /// The same gate without counting a download (a range request that
    /// continues a download already counted: docs/api.md, Downloads).
    virtual bool checkDownloadAt(const std::string& id, const Clock& clock) = 0;

    // --- processes (leases) ----------------------------------------------
    /// Insert or refresh this process's lease.
    virtual void heartbeat(const std::string& instanceId, Millis now) = 0;
    /// Drop the lease (clean shutdown).
    virtual void removeInstance(const std::string& instanceId) = 0;
    /// Instances whose last heartbeat is newer than now - leaseMs.
    virtual std::vector<std::string> liveInstances(Millis now, Millis leaseMs) = 0;

    // --- sweeper ---------------------------------------------------------
    /// queued|running exports whose instance has no live lease -> failed,
    /// code "interrupted". Returns the ids it changed.
    virtual std::vector<std::string> failInterrupted(Millis now, Millis leaseMs) = 0;
    /// ready exports with expires_at <= now (their file may still be on disk).
    virtual std::vector<ExportRecord> overdueReady(Millis now) = 0;
    /// Ready exports not yet due whose scheduled_by is not a live instance; each
    /// returned record has been claimed for `instanceId` (scheduled_by set by a
    /// conditional update), so the caller must schedule its timer.
    virtual std::vector<ExportRecord> claimUnscheduled(const std::string& instanceId, Millis now,
                                                       Millis leaseMs) = 0;
    /// Records that are expired (file_deleted_at set), deleted or failed, whose
    /// last change is older than cutoff, are removed. Returns how many.
    virtual int purgeBefore(Millis cutoff) = 0;

    // --- owners and sessions ---------------------------------------------
    /// Bytes of the files `limitKey` holds now: ready or expired exports whose
    /// file has not been deleted yet.
    virtual std::int64_t bytesHeld(const std::string& limitKey) = 0;
    /// The secret stored under `name`, shared by every process of the registry;
    /// stores `candidate` first when there is none yet (the first caller wins).
    virtual std::string sharedSecret(const std::string& name, const std::string& candidate) = 0;

    // --- observation -----------------------------------------------------
    /// Throws RegistryError when the registry cannot be queried.
    virtual void ping() = 0;
    /// Ready exports whose file is still present (file_deleted_at null), due or not.
    virtual std::int64_t countPendingCleanups() = 0;
    /// Oldest expires_at among ready exports with expires_at <= now, if any.
    virtual std::optional<Millis> oldestOverdue(Millis now) = 0;
    /// The registry's clock now (UTC epoch ms): the database server's for
    /// PostgreSQL, the system clock for SQLite. Every host aligns its clock to it
    /// (cleanup::RegistryClock), so that the database's clock decides.
    virtual Millis registryNow() = 0;
    /// Ready exports whose file is still present (file_deleted_at null) and whose
    /// ready_at >= since, by ready_at then id, at most `limit`: how every host
    /// learns of every host's ready exports and keeps a timer for each.
    virtual std::vector<PendingExpiry> pendingSince(Millis since, int limit) = 0;
};

/// Opens the registry named by a URI: "sqlite:/path/registry.db" (or
/// "sqlite::memory:" for tests), a libpq URI "postgresql://..." or
/// "postgres://...", or "postgresql:" followed by a libpq key=value string.
/// Throws RegistryError for an unknown scheme or a registry that cannot be
/// opened (its message never holds a password).
std::unique_ptr<Registry> openRegistry(const std::string& uri);

} // namespace exportd::cleanup
