#pragma once

#include "cleanup/Clock.h"
#include "cleanup/Metrics.h"
#include "cleanup/Registry.h"

#include <Poco/Util/Timer.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

namespace Poco { class Logger; }

namespace exportd::cleanup {

/// Deletes each export file at its expires_at, on ONE Poco::Util::Timer thread
/// shared by every pending deletion (one small TimerTask each).
///
/// A task unlinks `<exportsDir>/<id>` (a file already gone counts as done) at
/// its time, then the deletion is recorded: file_deleted_at (the unlink's time)
/// and `expired` in the registry, `exportd_cleanup_lag_seconds` (deletion time
/// minus expires_at) observed, `exportd_files_deleted_total{reason="expired"}`
/// counted. Records are written in batches, one registry transaction for the
/// deletions of up to FLUSH_DELAY_MS (or MAX_BATCH of them), on the same timer
/// thread: one commit per file would cap the thread near 10,000 deletions a
/// second and stall every unlink behind it (bench/RESULTS.md). A failed unlink
/// or registry write is logged, counted in `exportd_cleanup_failures_total` and
/// retried with backoff (100 ms doubling, capped at 5 s) until it succeeds or
/// the scheduler stops. No exception ever leaves a task.
///
/// schedule() may be called from any thread. Lives as long as the application;
/// the destructor cancels what is pending (the sweeper of the next start picks
/// it up).
class CleanupScheduler {
public:
    CleanupScheduler(Registry& registry, Metrics& metrics, const Clock& clock,
                     std::string exportsDir, Poco::Logger& logger);
    ~CleanupScheduler();

    CleanupScheduler(const CleanupScheduler&) = delete;
    CleanupScheduler& operator=(const CleanupScheduler&) = delete;

    /// Deletes the file of export `id` at `expiresAt` (at once if it has passed).
    void schedule(const std::string& id, Millis expiresAt);

    /// Deletions scheduled and not yet done (including ones being retried).
    std::int64_t pending() const { return _pending.load(); }

    /// Cancels every pending task, records the deletions already done, and
    /// stops the timer thread. Idempotent.
    void stop();

    /// How long a done deletion may wait for its batch to be recorded.
    static constexpr Millis FLUSH_DELAY_MS = 20;
    /// A batch is recorded at once when it reaches this many deletions.
    static constexpr std::size_t MAX_BATCH = 1000;

private:
    class DeleteTask;
    class FlushTask;
    friend class DeleteTask;
    friend class FlushTask;
    struct Done {
        std::string id;
        Millis expiresAt;
        Millis deletedAt;
        int attempt;
    };
    void runDeletion(const std::string& id, Millis expiresAt, int attempt);
    void retry(const std::string& id, Millis expiresAt, int attempt, const std::string& failure);
    void record(const std::string& id, Millis expiresAt, Millis deletedAt, int attempt);
    void flush();

    Registry& _registry;
    Metrics& _metrics;
    const Clock& _clock;
    std::string _exportsDir;
    Poco::Logger& _logger;
    Poco::Util::Timer _timer;
    std::atomic<std::int64_t> _pending{0};
    std::atomic<bool> _stopped{false};
    std::mutex _doneMutex;
    std::vector<Done> _done;       ///< unlinked, not yet recorded
    bool _flushScheduled = false;
};

} // namespace exportd::cleanup
