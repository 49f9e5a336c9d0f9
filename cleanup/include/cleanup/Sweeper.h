#pragma once

#include "cleanup/CleanupScheduler.h"
#include "cleanup/Clock.h"
#include "cleanup/FileStore.h"
#include "cleanup/Metrics.h"
#include "cleanup/Registry.h"

#include <Poco/Util/Timer.h>

#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace Poco { class Logger; }

namespace exportd::cleanup {

/// What one sweep did; also logged as one line.
struct SweepReport {
    int interrupted = 0;     ///< queued/running exports of dead processes marked failed
    int overdueDeleted = 0;  ///< ready files past expires_at deleted (timer lost)
    int partsDeleted = 0;    ///< .part files of jobs not running in a live process
    int orphansDeleted = 0;  ///< files the registry does not know
    int staleDeleted = 0;    ///< files of expired/deleted/failed exports still present
    int rescheduled = 0;     ///< ready exports claimed and handed to the scheduler
    int purged = 0;          ///< registry records older than keep
    int errors = 0;          ///< deletions that failed (retried next sweep)
};

/// Settings of the sweeper and the lease.
struct SweeperOptions {
    std::string instanceId;
    Millis sweepIntervalMs = 30000;
    Millis heartbeatIntervalMs = 2000;
    Millis leaseMs = 10000;        ///< a process silent for this long is gone
    Millis registryKeepMs = 604800000;
    /// false for a process that sweeps once and exits (`exportd --sweep-once`):
    /// it holds no lease and claims no exports to schedule, since it keeps no
    /// timers; the exports stay for a live process to claim.
    bool longLived = true;
};

/// The safety net under the CleanupScheduler (docs/operations.md, Cleanup). sweepOnce() deletes
/// overdue ready files, `.part` files whose job is not running in a live
/// process, files of finished exports and orphan files (only the store's
/// export files, FileStore::list(): regular files, never a symlink, whose
/// names are a minted id, optionally with `.part`); it marks queued/running
/// exports of dead processes failed/interrupted, claims ready exports not yet
/// due that no live process has scheduled and schedules them, and purges old
/// records. It also keeps this process's lease alive.
///
/// start() runs a sweep at once and then every sweepIntervalMs, plus a
/// heartbeat every heartbeatIntervalMs, on its own Poco::Util::Timer thread.
/// sweepOnce() may also be called directly (tests, start-up). Lives as long as
/// the application; stop() (or the destructor) stops its timer.
class Sweeper {
public:
    Sweeper(Registry& registry, CleanupScheduler& scheduler, FileStore& store, Metrics& metrics,
            const Clock& clock, SweeperOptions options, Poco::Logger& logger);
    ~Sweeper();

    Sweeper(const Sweeper&) = delete;
    Sweeper& operator=(const Sweeper&) = delete;

    /// Returns true for the ids of jobs this process is running right now; the
    /// sweeper never deletes their `.part` file. Set before start().
    void setLocalJobCheck(std::function<bool(const std::string&)> isLocalJob);
    /// Runs before each heartbeat (the application re-measures its
    /// RegistryClock there, so that the lease is written in the registry's
    /// time); an exception it throws is logged and the heartbeat goes on. Set
    /// before start().
    void setBeforeHeartbeat(std::function<void()> beforeHeartbeat);

    SweepReport sweepOnce();
    void start();
    void stop();

private:
    /// The directory step of sweepOnce(): .part, orphan and stale files.
    void sweepDirectory(Millis now, SweepReport& report);
    /// The before-heartbeat hook, then the heartbeat. Throws RegistryError.
    void heartbeat();

    Registry& _registry;
    CleanupScheduler& _scheduler;
    FileStore& _store;
    Metrics& _metrics;
    const Clock& _clock;
    SweeperOptions _options;
    Poco::Logger& _logger;
    std::function<bool(const std::string&)> _isLocalJob;
    std::function<void()> _beforeHeartbeat;
    std::mutex _sweepMutex;
    Poco::Util::Timer _timer;
    bool _started = false;
};

} // namespace exportd::cleanup
