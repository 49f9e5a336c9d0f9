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
    DeleteTask(CleanupScheduler& owner, Job job, int attempt) : _owner(owner), _job(std::move(job)), _attempt(attempt)
    {
    }

    void run() override { _owner.runDeletion(_job, _attempt); }

private:
    CleanupScheduler& _owner;
    Job _job;
    int _attempt;
};

/// Runs one of the scheduler's own chores: flush() records the deletions done
/// since the last batch (on the record timer's thread), reapTick() collects the
/// unlinks that have finished while any is in flight (on the timer thread).
class CleanupScheduler::ChoreTask : public Poco::Util::TimerTask {
public:
    ChoreTask(CleanupScheduler& owner, void (CleanupScheduler::*chore)()) : _owner(owner), _chore(chore) {}
    void run() override { (_owner.*_chore)(); }

private:
    CleanupScheduler& _owner;
    void (CleanupScheduler::*_chore)();
};

CleanupScheduler::CleanupScheduler(Registry& registry, Metrics& metrics, const Clock& clock,
                                   FileStore& store, Poco::Logger& logger, UnlinkMode mode)
    : _registry(registry), _metrics(metrics), _clock(clock), _store(store), _logger(logger)
{
    if (mode == UnlinkMode::Auto) {
        std::string why;
        _remover = _store.openBatchRemover(RING_CAPACITY, RING_WORKERS, why);
        if (_remover)
            _logger.information("cleanup: files are removed in batches (io_uring for a directory, up to "
                                + std::to_string(RING_WORKERS) + " workers)");
        else
            _logger.information("cleanup: no batch removal (" + why + "); files are removed on the timer thread");
    }
}

CleanupScheduler::~CleanupScheduler()
{
    stop();
}

bool CleanupScheduler::schedule(const std::string& id, Millis expiresAt, Millis delayMs)
{
    if (_stopped.load()) {
        _logger.warning("cleanup of " + id + " not scheduled: the scheduler has stopped");
        return false;
    }
    const Millis at = expiresAt + delayMs;
    std::uint64_t token = 0;
    {
        std::lock_guard<std::mutex> lock(_timedMutex);
        auto [it, inserted] = _timed.try_emplace(id, Timed{at, 0, false});
        if (inserted) {
            ++_pending;
        } else if (it->second.finished || it->second.at <= at) {
            return false;
        }
        it->second.at = at;
        it->second.token = token = ++_nextToken;
    }
    // Poco::Timestamp counts microseconds since the Unix epoch, like Millis in
    // ms; the timer waits for the system clock, `at` is the registry's time.
    _timer.schedule(new DeleteTask(*this, Job{id, expiresAt, token}, 0),
                    Poco::Timestamp(static_cast<Poco::Timestamp::TimeVal>(_clock.systemTimeAt(at)) * 1000));
    return true;
}

std::uint64_t CleanupScheduler::watchMark()
{
    std::lock_guard<std::mutex> lock(_timedMutex);
    _keepFinished = true;
    return _finishMark;
}

void CleanupScheduler::forgetFinished(std::uint64_t mark)
{
    std::lock_guard<std::mutex> lock(_timedMutex);
    while (!_finished.empty() && _finished.front().first <= mark) {
        auto it = _timed.find(_finished.front().second);
        if (it != _timed.end() && it->second.finished) _timed.erase(it);
        _finished.pop_front();
    }
}

bool CleanupScheduler::isCurrent(const Job& job)
{
    std::lock_guard<std::mutex> lock(_timedMutex);
    const auto it = _timed.find(job.id);
    return it != _timed.end() && !it->second.finished && it->second.token == job.token;
}

// The export's deletion is done (or given up to the sweeper): whichever of its
// attempts gets here first ends it, and a later one changes nothing.
void CleanupScheduler::finish(const std::string& id)
{
    std::lock_guard<std::mutex> lock(_timedMutex);
    const auto it = _timed.find(id);
    if (it == _timed.end() || it->second.finished) return;
    --_pending;
    if (!_keepFinished) {
        _timed.erase(it);
        return;
    }
    it->second.finished = true;
    _finished.emplace_back(++_finishMark, id);
}

void CleanupScheduler::stop()
{
    if (_stopped.exchange(true)) return;
    _timer.cancel(true);
    // The timer thread is idle now: finish the unlinks it started (the next
    // start's sweeper records any that a broken ring never reports).
    while (_remover && _remover->inFlight() > 0 && _remover->answering()) collectUnlinks(true);
    _recordTimer.cancel(true);
    flush(); // files already unlinked are recorded now, not left to the next sweep
}

void CleanupScheduler::runDeletion(const Job& job, int attempt)
{
    if (_stopped.load() || !isCurrent(job)) return; // a timer moved earlier, or a deletion done
    if (_remover) {
        collectUnlinks(false);
        if (startUnlink(job, attempt)) return;
    }
    unlinkNow(job, attempt);
}

bool CleanupScheduler::startUnlink(const Job& job, int attempt)
{
    try {
        // Room in the ring: when full, wait for the oldest unlinks to finish.
        while (_remover->inFlight() >= _remover->capacity() && _remover->answering()) collectUnlinks(true);
        if (!_remover->answering()) return false;
        const std::uint64_t tag = ++_nextTag;
        _inFlight[tag] = InFlight{job, attempt};
        if (!_remover->submit(job.id, tag)) {
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
        _logger.error("cleanup of " + job.id + ": batch removal: " + e.what());
        return false;
    }
}

void CleanupScheduler::collectUnlinks(bool wait)
{
    const auto results = _remover->reap(wait);
    if (results.empty()) return;
    const Millis now = _clock.nowMs();
    for (const auto& r : results) {
        auto it = _inFlight.find(r.tag);
        if (it == _inFlight.end()) continue;
        const InFlight op = std::move(it->second);
        _inFlight.erase(it);
        // A file already gone counts as deleted (the remover says so with no error).
        if (r.error.empty())
            record(op.job, now, op.attempt);
        else
            retry(op.job, op.attempt, "remove: " + r.error);
    }
}

void CleanupScheduler::reapTick()
{
    _reapScheduled = false;
    if (_stopped.load()) return;
    collectUnlinks(false);
    if (_remover->inFlight() == 0) return;
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

void CleanupScheduler::unlinkNow(const Job& job, int attempt)
{
    std::string failure;
    try {
        const Removal file = _store.remove(job.id);
        if (file.gone) {
            record(job, _clock.nowMs(), attempt);
            return;
        }
        failure = "remove: " + file.error;
    } catch (const std::exception& e) {
        failure = e.what();
    } catch (...) {
        failure = "unknown exception";
    }
    retry(job, attempt, failure);
}

void CleanupScheduler::record(const Job& job, Millis deletedAt, int attempt)
{
    Millis delay = -1; // no flush to queue
    {
        std::lock_guard<std::mutex> lock(_doneMutex);
        _done.push_back({job, job.unlinkedAt > 0 ? job.unlinkedAt : deletedAt, attempt});
        if (_stopped.load()) {
            // stop() records what is left once both timers are idle.
        } else if (_done.size() >= MAX_BATCH && !_flushUrgent) {
            _flushUrgent = _flushScheduled = true;
            delay = 0;
        } else if (!_flushScheduled) {
            _flushScheduled = true;
            delay = FLUSH_DELAY_MS;
        }
    }
    if (delay < 0) return;
    try {
        Poco::Timestamp at;
        at += delay * 1000;
        _recordTimer.schedule(new ChoreTask(*this, &CleanupScheduler::flush), at);
    } catch (const std::exception& e) {
        _logger.error("cleanup: cannot schedule the recording of deletions: " + std::string(e.what()));
        flush();
    }
}

void CleanupScheduler::flush()
{
    std::vector<Done> batch;
    {
        std::lock_guard<std::mutex> lock(_doneMutex);
        batch.swap(_done);
        _flushScheduled = _flushUrgent = false;
    }
    if (batch.empty()) return;
    std::vector<std::pair<std::string, Millis>> deletions;
    deletions.reserve(batch.size());
    for (const auto& d : batch) deletions.emplace_back(d.job.id, d.deletedAt);
    std::string failure;
    try {
        const std::vector<bool> recorded = _registry.markFilesDeleted(deletions);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const Done& d = batch[i];
            // Counted only when this call recorded the deletion, so a file removed
            // by the sweeper or another process is never counted twice.
            if (i < recorded.size() && recorded[i]) {
                countDeletion(_metrics, "expired", d.deletedAt, d.job.expiresAt);
                if (_logger.information())
                    _logger.information("event=file_deleted id=" + d.job.id + " reason=expired lag_ms="
                                        + std::to_string(d.deletedAt - d.job.expiresAt));
            }
            finish(d.job.id);
        }
        return;
    } catch (const std::exception& e) {
        failure = std::string("record: ") + e.what();
    } catch (...) {
        failure = "record: unknown exception";
    }
    // The files are gone; each deletion is tried again whole (its unlink now
    // finds nothing, which counts as done) until the registry takes it.
    for (auto& d : batch) {
        d.job.unlinkedAt = d.deletedAt; // recorded with the time the file went, not the retry's
        retry(d.job, d.attempt, failure);
    }
}

void CleanupScheduler::retry(const Job& job, int attempt, const std::string& failure)
{
    try {
        _metrics.increment(family::CLEANUP_FAILURES);
        const Millis delay = backoffFor(attempt);
        _logger.warning("cleanup of " + job.id + " failed (attempt " + std::to_string(attempt + 1)
                        + "): " + failure + "; retrying in " + std::to_string(delay) + " ms");
        if (_stopped.load()) {
            finish(job.id); // the next start's sweeper records it
            return;
        }
        Poco::Timestamp at;
        at += delay * 1000;
        _timer.schedule(new DeleteTask(*this, job, attempt + 1), at);
    } catch (const std::exception& e) {
        // Without a retry the sweeper is the only one left to delete this file.
        finish(job.id);
        _logger.error("cleanup of " + job.id + " could not be rescheduled: " + e.what());
    }
}

} // namespace exportd::cleanup
