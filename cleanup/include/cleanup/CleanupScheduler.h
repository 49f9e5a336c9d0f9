#pragma once

#include "cleanup/Clock.h"
#include "cleanup/Metrics.h"
#include "cleanup/Registry.h"

#include <Poco/Util/Timer.h>

#include <atomic>
#include <string>

namespace Poco { class Logger; }

namespace exportd::cleanup {

/// Deletes each export file at its expires_at, on ONE Poco::Util::Timer thread
/// shared by every pending deletion (one small TimerTask each).
///
/// A task unlinks `<exportsDir>/<id>` (a file already gone counts as done), then
/// records file_deleted_at and `expired` in the registry, observes
/// `exportd_cleanup_lag_seconds` (deletion time minus expires_at) and counts
/// `exportd_files_deleted_total{reason="expired"}`. A failed unlink or registry
/// write is logged, counted in `exportd_cleanup_failures_total` and retried
/// with backoff (100 ms doubling, capped at 5 s) until it succeeds or the
/// scheduler stops. No exception ever leaves a task.
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

    /// Cancels every pending task and stops the timer thread. Idempotent.
    void stop();

private:
    class DeleteTask;
    friend class DeleteTask;
    void runDeletion(const std::string& id, Millis expiresAt, int attempt);

    Registry& _registry;
    Metrics& _metrics;
    const Clock& _clock;
    std::string _exportsDir;
    Poco::Logger& _logger;
    Poco::Util::Timer _timer;
    std::atomic<std::int64_t> _pending{0};
    std::atomic<bool> _stopped{false};
};

} // namespace exportd::cleanup
