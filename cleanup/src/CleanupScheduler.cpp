#include "cleanup/CleanupScheduler.h"

#include "Deletion.h"
#include "UnlinkRing.h"

#include <Poco/Logger.h>
#include <Poco/Timestamp.h>
#include <Poco/Util/TimerTask.h>

#include <algorithm>
#include <cstring>
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

/// Runs one of the scheduler's own chores on the timer thread: flush()
/// records the deletions done since the last batch, reapTick() collects the
/// unlinks that have finished while any is in flight.
class CleanupScheduler::ChoreTask : public Poco::Util::TimerTask {
public:
    ChoreTask(CleanupScheduler& owner, void (CleanupScheduler::*chore)()) : _owner(owner), _chore(chore) {}
    void run() override { (_owner.*_chore)(); }

private:
    CleanupScheduler& _owner;
    void (CleanupScheduler::*_chore)();
};

CleanupScheduler::CleanupScheduler(Registry& registry, Metrics& metrics, const Clock& clock,
                                   std::string exportsDir, Poco::Logger& logger, UnlinkMode mode)
    : _registry(registry), _metrics(metrics), _clock(clock), _exportsDir(std::move(exportsDir)),
      _logger(logger)
{
    if (mode == UnlinkMode::Auto) {
        std::string why;
        _ring = UnlinkRing::open(RING_CAPACITY, RING_WORKERS, why);
        if (_ring)
            _logger.information("cleanup: files are unlinked through io_uring (up to "
                                + std::to_string(RING_WORKERS) + " kernel workers)");
        else
            _logger.information("cleanup: io_uring unavailable (" + why + "); files are unlinked on the timer thread");
    }
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
    // The timer thread is idle now: finish the unlinks it started (the next
    // start's sweeper records any that a broken ring never reports).
    while (_ring && _ring->inFlight() > 0 && _ring->answering()) collectUnlinks(true);
    flush(); // files already unlinked are recorded now, not left to the next sweep
}

void CleanupScheduler::runDeletion(const std::string& id, Millis expiresAt, int attempt)
{
    if (_stopped.load()) return;
    if (_ring) {
        collectUnlinks(false);
        if (startUnlink(id, expiresAt, attempt)) return;
    }
    unlinkNow(id, expiresAt, attempt);
}

bool CleanupScheduler::startUnlink(const std::string& id, Millis expiresAt, int attempt)
{
    try {
        // Room in the ring: when full, wait for the oldest unlinks to finish.
        while (_ring->inFlight() >= _ring->capacity() && _ring->answering()) collectUnlinks(true);
        if (!_ring->answering()) return false;
        const std::uint64_t tag = ++_nextTag;
        InFlight& op = _inFlight[tag] = InFlight{id, _exportsDir + "/" + id, expiresAt, attempt};
        if (!_ring->submit(op.path.c_str(), tag)) {
            _inFlight.erase(tag);
            return false; // unlinked on this thread instead
        }
        if (!_reapScheduled) {
            _reapScheduled = true;
            Poco::Timestamp at;
            at += REAP_INTERVAL_MS * 1000;
            _timer.schedule(new ChoreTask(*this, &CleanupScheduler::reapTick), at);
        }
        return true;
    } catch (const std::exception& e) {
        _logger.error("cleanup of " + id + ": io_uring: " + e.what());
        return false;
    }
}

void CleanupScheduler::collectUnlinks(bool wait)
{
    const auto results = _ring->reap(wait);
    if (results.empty()) return;
    const Millis now = _clock.nowMs();
    for (const auto& r : results) {
        auto it = _inFlight.find(r.tag);
        if (it == _inFlight.end()) continue;
        const InFlight op = std::move(it->second);
        _inFlight.erase(it);
        // A file already gone counts as deleted, as with unlink().
        if (r.error == 0 || r.error == ENOENT)
            record(op.id, op.expiresAt, now, op.attempt);
        else
            retry(op.id, op.expiresAt, op.attempt, std::string("unlink: ") + std::strerror(r.error));
    }
}

void CleanupScheduler::reapTick()
{
    _reapScheduled = false;
    if (_stopped.load()) return;
    collectUnlinks(false);
    if (_ring->inFlight() == 0) return;
    try {
        _reapScheduled = true;
        Poco::Timestamp at;
        at += REAP_INTERVAL_MS * 1000;
        _timer.schedule(new ChoreTask(*this, &CleanupScheduler::reapTick), at);
    } catch (const std::exception& e) {
        _reapScheduled = false;
        _logger.error("cleanup: cannot schedule the collection of unlinks: " + std::string(e.what()));
    }
}

void CleanupScheduler::unlinkNow(const std::string& id, Millis expiresAt, int attempt)
{
    std::string failure;
    try {
        const Unlinked file = unlinkExportFile(_exportsDir, id);
        if (file.ok) {
            record(id, expiresAt, _clock.nowMs(), attempt);
            return;
        }
        failure = "unlink: " + file.error;
    } catch (const std::exception& e) {
        failure = e.what();
    } catch (...) {
        failure = "unknown exception";
    }
    retry(id, expiresAt, attempt, failure);
}

void CleanupScheduler::record(const std::string& id, Millis expiresAt, Millis deletedAt, int attempt)
{
    bool flushNow = false;
    bool scheduleFlush = false;
    {
        std::lock_guard<std::mutex> lock(_doneMutex);
        _done.push_back({id, expiresAt, deletedAt, attempt});
        if (_stopped.load()) {
            // stop() records what is left once the timer is idle.
        } else if (_done.size() >= MAX_BATCH) {
            flushNow = true;
        } else if (!_flushScheduled) {
            _flushScheduled = true;
            scheduleFlush = true;
        }
    }
    if (flushNow) {
        flush();
    } else if (scheduleFlush) {
        try {
            Poco::Timestamp at;
            at += FLUSH_DELAY_MS * 1000;
            _timer.schedule(new ChoreTask(*this, &CleanupScheduler::flush), at);
        } catch (const std::exception& e) {
            _logger.error("cleanup: cannot schedule the recording of deletions: " + std::string(e.what()));
            flush();
        }
    }
}

void CleanupScheduler::flush()
{
    std::vector<Done> batch;
    {
        std::lock_guard<std::mutex> lock(_doneMutex);
        batch.swap(_done);
        _flushScheduled = false;
    }
    if (batch.empty()) return;
    std::vector<std::pair<std::string, Millis>> deletions;
    deletions.reserve(batch.size());
    for (const auto& d : batch) deletions.emplace_back(d.id, d.deletedAt);
    std::string failure;
    try {
        const std::vector<bool> recorded = _registry.markFilesDeleted(deletions);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const Done& d = batch[i];
            // Counted only when this call recorded the deletion, so a file removed
            // by the sweeper or another process is never counted twice.
            if (i < recorded.size() && recorded[i]) {
                countDeletion(_metrics, "expired", d.deletedAt, d.expiresAt);
                if (_logger.information())
                    _logger.information("event=file_deleted id=" + d.id + " reason=expired lag_ms="
                                        + std::to_string(d.deletedAt - d.expiresAt));
            }
            --_pending;
        }
        return;
    } catch (const std::exception& e) {
        failure = std::string("record: ") + e.what();
    } catch (...) {
        failure = "record: unknown exception";
    }
    // The files are gone; each deletion is tried again whole (its unlink now
    // finds nothing, which counts as done) until the registry takes it.
    for (const auto& d : batch) retry(d.id, d.expiresAt, d.attempt, failure);
}

void CleanupScheduler::retry(const std::string& id, Millis expiresAt, int attempt, const std::string& failure)
{
    try {
        _metrics.increment(family::CLEANUP_FAILURES);
        const Millis delay = backoffFor(attempt);
        _logger.warning("cleanup of " + id + " failed (attempt " + std::to_string(attempt + 1)
                        + "): " + failure + "; retrying in " + std::to_string(delay) + " ms");
        if (_stopped.load()) {
            --_pending; // the next start's sweeper records it
            return;
        }
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
