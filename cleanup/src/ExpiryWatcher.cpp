#include "cleanup/ExpiryWatcher.h"

#include <Poco/Logger.h>

#include <algorithm>

namespace exportd::cleanup {

ExpiryWatcher::ExpiryWatcher(Registry& registry, CleanupScheduler& scheduler, Metrics& metrics,
                             ExpiryWatcherOptions options, Poco::Logger& logger)
    : _registry(registry), _scheduler(scheduler), _metrics(metrics), _options(std::move(options)), _logger(logger)
{
}

ExpiryWatcher::~ExpiryWatcher()
{
    stop();
}

void ExpiryWatcher::start()
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_started) return;
    _started = true;
    // Fixed delay between polls: a slow read is not followed by a burst of them.
    _timer.schedule(Poco::Util::Timer::func([this] { tick(); }), 0, static_cast<long>(_options.pollIntervalMs));
}

void ExpiryWatcher::stop()
{
    _timer.cancel(true);
}

Millis ExpiryWatcher::cursor() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _cursor;
}

int ExpiryWatcher::pollOnce()
{
    std::lock_guard<std::mutex> lock(_mutex);
    const std::uint64_t mark = _scheduler.watchMark();
    Millis from = _cursor == NO_CURSOR ? NO_CURSOR : _cursor - _options.overlapMs;
    Millis newest = _cursor;
    int limit = std::max(1, _options.pageSize);
    int timers = 0;
    for (;;) {
        const std::vector<PendingExpiry> page = _registry.pendingSince(from, limit);
        for (const PendingExpiry& p : page) {
            const bool own = p.scheduledBy == _options.instanceId;
            if (_scheduler.schedule(p.id, p.expiresAt, own ? 0 : _options.othersGraceMs)) ++timers;
            newest = std::max(newest, p.readyAt);
        }
        if (static_cast<int>(page.size()) < limit) break;
        if (page.front().readyAt == page.back().readyAt) {
            // A whole page within one millisecond: the next page cannot start
            // after it, so read that millisecond again, wider.
            limit *= 2;
            continue;
        }
        // The next page starts at the last page's last millisecond, read again
        // whole: its rows beyond this page are still to come.
        from = page.back().readyAt;
    }
    _cursor = newest;
    _scheduler.forgetFinished(mark);
    return timers;
}

void ExpiryWatcher::tick()
{
    try {
        pollOnce();
        if (_failures > 0) {
            _logger.information("expiry watcher: the registry answers again after " + std::to_string(_failures)
                                + " failed read(s)");
            _failures = 0;
        }
    } catch (const std::exception& e) {
        _metrics.increment(family::EXPIRY_WATCH_FAILURES);
        // Logged once per outage: the polls go on four times a second.
        if (_failures++ == 0)
            _logger.error(std::string("expiry watcher: cannot read the pending exports (retrying every ")
                          + std::to_string(_options.pollIntervalMs) + " ms): " + e.what());
    }
}

} // namespace exportd::cleanup
