#include "cleanup/CleanupScheduler.h"

#include "Deletion.h"

#include <Poco/Logger.h>
#include <Poco/Timestamp.h>
#include <Poco/Util/TimerTask.h>

#include <algorithm>
#include <exception>

namespace exportd::cleanup {

namespace {

constexpr Millis FIRST_BACKOFF_MS = 100;
constexpr Millis MAX_BACKOFF_MS = 5000;

Millis backoffFor(int attempt)
{
    Millis delay = FIRST_BACKOFF_MS;
    for (int i = 0; i < attempt && delay < MAX_BACKOFF_MS; ++i) delay *= 2;
    return std::min(delay, MAX_BACKOFF_MS);
}

} // namespace

/// One pending deletion; owned by the timer queue until it has run.
class CleanupScheduler::DeleteTask : public Poco::Util::TimerTask {
public:
    DeleteTask(CleanupScheduler& owner, std::string id, Millis expiresAt, int attempt)
        : _owner(owner), _id(std::move(id)), _expiresAt(expiresAt), _attempt(attempt)
    {
    }

    void run() override { _owner.runDeletion(_id, _expiresAt, _attempt); }

private:
    CleanupScheduler& _owner;
    std::string _id;
    Millis _expiresAt;
    int _attempt;
};

CleanupScheduler::CleanupScheduler(Registry& registry, Metrics& metrics, const Clock& clock,
                                   std::string exportsDir, Poco::Logger& logger)
    : _registry(registry), _metrics(metrics), _clock(clock), _exportsDir(std::move(exportsDir)),
      _logger(logger)
{
    declareDeletionMetrics(_metrics);
}

CleanupScheduler::~CleanupScheduler()
{
    stop();
}

void CleanupScheduler::schedule(const std::string& id, Millis expiresAt)
{
    if (_stopped.load()) {
        _logger.warning("cleanup of " + id + " not scheduled: the scheduler has stopped");
        return;
    }
    ++_pending;
    // Poco::Timestamp counts microseconds since the Unix epoch, like Millis in ms.
    _timer.schedule(new DeleteTask(*this, id, expiresAt, 0),
                    Poco::Timestamp(static_cast<Poco::Timestamp::TimeVal>(expiresAt) * 1000));
}

void CleanupScheduler::stop()
{
    if (_stopped.exchange(true)) return;
    _timer.cancel(true);
}

void CleanupScheduler::runDeletion(const std::string& id, Millis expiresAt, int attempt)
{
    if (_stopped.load()) return;
    std::string failure;
    try {
        const Unlinked file = unlinkExportFile(_exportsDir, id);
        if (file.ok) {
            const Millis now = _clock.nowMs();
            // Counted only when this call recorded the deletion, so a file removed
            // by the sweeper or another process is never counted twice.
            if (_registry.markFileDeleted(id, now)) countDeletion(_metrics, "expired", now, expiresAt);
            --_pending;
            return;
        }
        failure = "unlink: " + file.error;
    } catch (const std::exception& e) {
        failure = e.what();
    } catch (...) {
        failure = "unknown exception";
    }

    try {
        _metrics.increment(CLEANUP_FAILURES);
        const Millis delay = backoffFor(attempt);
        _logger.warning("cleanup of " + id + " failed (attempt " + std::to_string(attempt + 1)
                        + "): " + failure + "; retrying in " + std::to_string(delay) + " ms");
        if (_stopped.load()) return;
        Poco::Timestamp at;
        at += delay * 1000;
        _timer.schedule(new DeleteTask(*this, id, expiresAt, attempt + 1), at);
    } catch (const std::exception& e) {
        // Without a retry the sweeper is the only one left to delete this file.
        --_pending;
        _logger.error("cleanup of " + id + " could not be rescheduled: " + e.what());
    }
}

} // namespace exportd::cleanup
