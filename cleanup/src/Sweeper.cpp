#include "cleanup/Sweeper.h"

#include "Deletion.h"
#include "cleanup/ExportId.h"

#include <Poco/Logger.h>
#include <Poco/Util/TimerTask.h>

#include <algorithm>
#include <chrono>
#include <set>

namespace exportd::cleanup {

namespace {

bool isLiveJob(const ExportRecord& rec, const std::set<std::string>& live)
{
    return (rec.status == ExportStatus::Queued || rec.status == ExportStatus::Running)
        && live.count(rec.instanceId) > 0;
}

bool isFinished(ExportStatus s)
{
    return s == ExportStatus::Expired || s == ExportStatus::Deleted || s == ExportStatus::Failed;
}

} // namespace

Sweeper::Sweeper(Registry& registry, CleanupScheduler& scheduler, FileStore& store, Metrics& metrics,
                 const Clock& clock, SweeperOptions options, Poco::Logger& logger)
    : _registry(registry), _scheduler(scheduler), _store(store), _metrics(metrics), _clock(clock),
      _options(std::move(options)), _logger(logger)
{
}

Sweeper::~Sweeper()
{
    stop();
}

void Sweeper::setLocalJobCheck(std::function<bool(const std::string&)> isLocalJob)
{
    std::lock_guard<std::mutex> lock(_sweepMutex);
    _isLocalJob = std::move(isLocalJob);
}

void Sweeper::setBeforeHeartbeat(std::function<void()> beforeHeartbeat)
{
    std::lock_guard<std::mutex> lock(_sweepMutex);
    _beforeHeartbeat = std::move(beforeHeartbeat);
}

void Sweeper::heartbeat()
{
    if (_beforeHeartbeat) {
        try {
            _beforeHeartbeat();
        } catch (const std::exception& e) {
            _logger.error(std::string("before heartbeat: ") + e.what());
        }
    }
    _registry.heartbeat(_options.instanceId, _clock.nowMs());
}

SweepReport Sweeper::sweepOnce()
{
    std::lock_guard<std::mutex> lock(_sweepMutex);
    const auto started = std::chrono::steady_clock::now();
    SweepReport report;
    const Millis now = _clock.nowMs();

    // Each step stands alone: a registry error in one is logged and counted, and
    // the others still run.
    auto step = [&](const char* name, auto&& body) {
        try {
            body();
        } catch (const std::exception& e) {
            ++report.errors;
            _logger.error(std::string("sweep: ") + name + " failed: " + e.what());
        }
    };

    if (_options.longLived)
        step("heartbeat", [&] { heartbeat(); });

    step("interrupted", [&] {
        const auto ids = _registry.failInterrupted(now, _options.leaseMs);
        report.interrupted = static_cast<int>(ids.size());
        if (!ids.empty())
            _metrics.increment(family::EXPORTS_FAILED, labelled(family::EXPORTS_FAILED, "interrupted"),
                               static_cast<double>(ids.size()));
    });

    step("overdue", [&] {
        for (const ExportRecord& rec : _registry.overdueReady(now)) {
            const Removal file = _store.remove(rec.id);
            if (!file.gone) {
                ++report.errors;
                _metrics.increment(family::CLEANUP_FAILURES);
                _logger.warning("sweep: cannot delete overdue " + rec.id + ": " + file.error);
                continue;
            }
            const Millis at = _clock.nowMs();
            if (_registry.markFileDeleted(rec.id, at)) {
                ++report.overdueDeleted;
                countDeletion(_metrics, "sweep", at, rec.expiresAt.value_or(0));
                _logger.information("event=file_deleted id=" + rec.id + " reason=sweep lag_ms="
                                    + std::to_string(at - rec.expiresAt.value_or(at)));
            }
        }
    });

    step("directory", [&] { sweepDirectory(now, report); });

    if (_options.longLived) step("reschedule", [&] {
        for (const ExportRecord& rec :
             _registry.claimUnscheduled(_options.instanceId, now, _options.leaseMs)) {
            _scheduler.schedule(rec.id, rec.expiresAt.value_or(now));
            ++report.rescheduled;
        }
    });

    step("purge", [&] { report.purged = _registry.purgeBefore(now - _options.registryKeepMs); });

    _metrics.set(family::LAST_SWEEP, "", _clock.nowMs() / 1000.0);
    const auto tookMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
    _logger.information(
        "sweep: interrupted=" + std::to_string(report.interrupted)
        + " overdue_deleted=" + std::to_string(report.overdueDeleted)
        + " parts_deleted=" + std::to_string(report.partsDeleted)
        + " orphans_deleted=" + std::to_string(report.orphansDeleted)
        + " stale_deleted=" + std::to_string(report.staleDeleted)
        + " rescheduled=" + std::to_string(report.rescheduled)
        + " purged=" + std::to_string(report.purged) + " errors=" + std::to_string(report.errors)
        + " took_ms=" + std::to_string(tookMs));
    return report;
}

void Sweeper::sweepDirectory(Millis now, SweepReport& report)
{
    const auto live = _registry.liveInstances(now, _options.leaseMs);
    const std::set<std::string> liveSet(live.begin(), live.end());
    Millis lastBeat = _clock.nowMs();

    for (const StoredFile& file : _store.list()) {
        // A sweep over a large directory must not outlast this process's lease.
        if (_clock.nowMs() - lastBeat >= _options.heartbeatIntervalMs) {
            lastBeat = _clock.nowMs();
            _registry.heartbeat(_options.instanceId, lastBeat);
        }

        // list() gives only exportd's own names (FileStore.h): a user's
        // "Quarterly_Report_2026_v2", a link or a directory is never touched.
        const auto parsed = parseExportFileName(file.name);
        if (!parsed) continue;
        const std::string& id = parsed->id;
        const bool part = parsed->part;

        const auto rec = _registry.find(id);
        std::string reason;
        if (part) {
            if (_isLocalJob && _isLocalJob(id)) continue;
            if (rec && isLiveJob(*rec, liveSet)) continue;
            reason = "part";
        } else if (!rec) {
            reason = "orphan";
        } else if (isFinished(rec->status)) {
            reason = "sweep";
        } else {
            continue; // queued/running (renamed, not yet ready) or ready: its owner decides
        }

        const Removal removal = _store.remove(file.name);
        if (!removal.gone) {
            ++report.errors;
            _metrics.increment(family::CLEANUP_FAILURES);
            _logger.warning("sweep: cannot delete " + file.name + ": " + removal.error);
            continue;
        }
        if (!removal.removed) continue; // someone else got there first
        if (reason == "part") {
            ++report.partsDeleted;
            continue;
        }
        if (reason == "orphan") {
            ++report.orphansDeleted;
            countDeletion(_metrics, reason, now, 0);
        } else {
            ++report.staleDeleted;
            _registry.markFileDeleted(id, _clock.nowMs());
            countDeletion(_metrics, reason, now, 0);
        }
    }
}

void Sweeper::start()
{
    std::lock_guard<std::mutex> lock(_sweepMutex);
    if (_started) return;
    _started = true;
    _timer.schedule(Poco::Util::Timer::func([this] {
                        try {
                            sweepOnce();
                        } catch (const std::exception& e) {
                            _logger.error(std::string("sweep failed: ") + e.what());
                        }
                    }),
                    0, static_cast<long>(_options.sweepIntervalMs));
    _timer.schedule(Poco::Util::Timer::func([this] {
                        try {
                            heartbeat();
                        } catch (const std::exception& e) {
                            _logger.error(std::string("heartbeat failed: ") + e.what());
                        }
                    }),
                    static_cast<long>(_options.heartbeatIntervalMs),
                    static_cast<long>(_options.heartbeatIntervalMs));
}

void Sweeper::stop()
{
    _timer.cancel(true);
}

} // namespace exportd::cleanup
