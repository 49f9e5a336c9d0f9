#pragma once

#include "cleanup/CleanupScheduler.h"
#include "cleanup/Metrics.h"
#include "cleanup/Registry.h"

#include <Poco/Util/Timer.h>

#include <limits>
#include <mutex>
#include <string>

namespace Poco { class Logger; }

namespace exportd::cleanup {

/// Settings of the ExpiryWatcher. The defaults are the product's: they follow
/// from the promise of deletion within a second of expiry, not from a site's
/// taste, so they are no configuration keys (docs/operations.md, Several
/// hosts: failover).
struct ExpiryWatcherOptions {
    std::string instanceId;          ///< this process: its own exports get no grace
    Millis pollIntervalMs = 250;     ///< how often the registry is read
    Millis overlapMs = 2000;         ///< each read goes back this far before the newest ready_at seen
    Millis othersGraceMs = 300;      ///< another process's export is deleted this long after expires_at
    int pageSize = 1000;             ///< rows per read; more are read page after page
};

/// Keeps a timer on this process for every ready export of the registry,
/// whichever process made it, so that the death of a process (or of a host)
/// delays none of its deletions (docs/operations.md, Several hosts: failover).
///
/// Every pollIntervalMs it reads Registry::pendingSince(cursor - overlapMs),
/// page by page, where the cursor is the newest ready_at it has seen (the
/// overlap covers exports committed out of ready_at order), and hands each
/// export to the CleanupScheduler, which keeps one timer per export: at
/// expires_at for the exports this process scheduled itself (scheduled_by),
/// at expires_at + othersGraceMs for the others', so that their maker deletes
/// first and this process's unlink normally finds the file gone (which counts
/// as done, and is not counted again: markFileDeleted says who recorded it).
/// The first read, at start(), loads every pending export.
///
/// A failed read is logged once, counted in
/// `exportd_expiry_watch_failures_total` and tried again at the next poll from
/// the same cursor. The sweeper (claimUnscheduled, overdue files) stays the net
/// under it. start() runs the polls on the watcher's own Poco::Util::Timer
/// thread: a read that waits for an unreachable database must not hold up the
/// scheduler's deletions. Lives as long as the application; stop() (or the
/// destructor) ends the polls.
class ExpiryWatcher {
public:
    ExpiryWatcher(Registry& registry, CleanupScheduler& scheduler, Metrics& metrics, ExpiryWatcherOptions options,
                  Poco::Logger& logger);
    ~ExpiryWatcher();

    ExpiryWatcher(const ExpiryWatcher&) = delete;
    ExpiryWatcher& operator=(const ExpiryWatcher&) = delete;

    /// Polls at once, then every pollIntervalMs.
    void start();
    void stop();

    /// One read of the registry and the scheduling of what it found; returns
    /// how many timers were set or moved. Throws RegistryError (the cursor stays).
    int pollOnce();

    /// The newest ready_at seen; NO_CURSOR before the first read.
    Millis cursor() const;
    static constexpr Millis NO_CURSOR = std::numeric_limits<Millis>::min();

private:
    void tick();

    Registry& _registry;
    CleanupScheduler& _scheduler;
    Metrics& _metrics;
    ExpiryWatcherOptions _options;
    Poco::Logger& _logger;
    mutable std::mutex _mutex; ///< one poll at a time; guards _cursor
    Millis _cursor = NO_CURSOR;
    int _failures = 0;         ///< consecutive failed polls (the timer thread's)
    Poco::Util::Timer _timer;
    bool _started = false;
};

} // namespace exportd::cleanup
