#pragma once

#include "cleanup/Clock.h"
#include "cleanup/FileStore.h"
#include "cleanup/Metrics.h"
#include "cleanup/Registry.h"

#include <Poco/Util/Timer.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace Poco { class Logger; }

namespace exportd::cleanup {

/// How the timer thread removes a file when its time comes.
enum class UnlinkMode {
    /// Through the store's BatchRemover when it has one (the directory's:
    /// io_uring where the kernel allows it): the thread starts the removal and
    /// goes on, workers wait for the disk. Else as OnTimerThread.
    Auto,
    /// FileStore::remove() on the timer thread itself, one after the other.
    OnTimerThread,
};

/// Deletes each export file at its expires_at, on ONE Poco::Util::Timer thread
/// shared by every pending deletion (one small TimerTask each).
///
/// A task removes the file `<id>` from the FileStore (a file already gone
/// counts as done) at its time, then the deletion is recorded: file_deleted_at
/// (the removal's time) and `expired` in the registry, `exportd_cleanup_lag_seconds` (deletion time
/// minus expires_at) observed, `exportd_files_deleted_total{reason="expired"}`
/// counted. Records are written in batches, one registry transaction for the
/// deletions of up to FLUSH_DELAY_MS (or MAX_BATCH of them): one commit per file
/// would cap the thread near 10,000 deletions a second (bench/RESULTS.md). The
/// batches are written on a second timer thread of their own, so that a
/// registry that waits (a row lock held by a host cut off from the database, a
/// reconnect) never delays an unlink: the files go at their time, and their
/// records follow when the registry answers (docs/operations.md, Several hosts). A failed unlink
/// or registry write is logged, counted in `exportd_cleanup_failures_total` and
/// retried with backoff (100 ms doubling, capped at 5 s) until it succeeds or
/// the scheduler stops. No exception ever leaves a task.
///
/// With UnlinkMode::Auto the task starts the removal through the store's
/// BatchRemover (io_uring for the directory) instead of waiting for it: on a
/// filesystem mounted with `discard` each unlink waits for the disk, and one
/// thread unlinking in turn fell behind 10,000 expiries a second
/// (bench/RESULTS.md). Finished unlinks are collected by the same timer
/// thread (at its next task, and every REAP_INTERVAL_MS while any is in flight)
/// and recorded as above, so a deletion is still recorded only once the file is
/// gone.
///
/// Times are the registry's (the injected clock's, a RegistryClock in the
/// application): each timer is set for the system clock's reading at which
/// that clock reaches the time (Clock::systemTimeAt). An export has one timer
/// at most: scheduling it again only moves its timer earlier, so the export's
/// maker, the sweeper and the ExpiryWatcher may each schedule what they know of.
///
/// schedule() may be called from any thread. Lives as long as the application;
/// the destructor cancels what is pending (the sweeper of the next start picks
/// it up).
class CleanupScheduler {
public:
    CleanupScheduler(Registry& registry, Metrics& metrics, const Clock& clock,
                     FileStore& store, Poco::Logger& logger, UnlinkMode mode = UnlinkMode::Auto);
    ~CleanupScheduler();

    CleanupScheduler(const CleanupScheduler&) = delete;
    CleanupScheduler& operator=(const CleanupScheduler&) = delete;

    /// Deletes the file of export `id` at `expiresAt` + `delayMs` (at once if
    /// that has passed); `expiresAt` is what the lag is measured from. When `id`
    /// has a timer already (or its deletion was done since the watcher's last
    /// read, see watchMark()), only an earlier time moves it. Returns true when
    /// a timer was set or moved.
    bool schedule(const std::string& id, Millis expiresAt, Millis delayMs = 0);

    /// Deletions scheduled and not yet done (including ones being retried).
    std::int64_t pending() const { return _pending.load(); }

    /// For a reader of the registry's pending exports (ExpiryWatcher): call
    /// before each read, and forgetFinished() with the mark after scheduling
    /// what it returned. From the first call on, the ids of deletions done are
    /// kept until a read that began after they were recorded has been handled,
    /// so that a read older than the recording does not schedule them again.
    std::uint64_t watchMark();
    /// Forgets the deletions done up to `mark` (a watchMark() value).
    void forgetFinished(std::uint64_t mark);

    /// Cancels every pending task, waits for the unlinks already started,
    /// records the deletions done, and stops the timer thread. Idempotent.
    void stop();

    /// True when removals go through the store's BatchRemover (UnlinkMode::Auto
    /// on a store and kernel that allow it: io_uring for the directory).
    bool unlinksThroughRing() const { return _remover != nullptr; }

    /// How long a done deletion may wait for its batch to be recorded.
    static constexpr Millis FLUSH_DELAY_MS = 20;
    /// A batch is recorded at once when it reaches this many deletions.
    static constexpr std::size_t MAX_BATCH = 1000;
    /// Unlinks in flight at most, and the kernel workers that run them.
    static constexpr unsigned RING_CAPACITY = 256;
    static constexpr unsigned RING_WORKERS = 8;
    /// How often finished unlinks are collected while any is in flight.
    static constexpr Millis REAP_INTERVAL_MS = 1;

private:
    class DeleteTask;
    class ChoreTask;
    friend class DeleteTask;
    friend class ChoreTask;
    /// One deletion's identity through its attempts: the export, its expiry,
    /// and the token of the timer that started it (a timer moved earlier gets
    /// a new token; the old one then does nothing when it fires).
    struct Job {
        std::string id;
        Millis expiresAt;
        std::uint64_t token;
        Millis unlinkedAt = 0; ///< when a retry only has the record left to write: the file's real deletion time
    };
    struct Done {
        Job job;
        Millis deletedAt;
        int attempt;
    };
    struct InFlight {
        Job job;
        int attempt;
    };
    /// The timer an export has (or had, until the watcher's next read).
    struct Timed {
        Millis at;
        std::uint64_t token;
        bool finished;
    };
    void runDeletion(const Job& job, int attempt);
    bool isCurrent(const Job& job);
    void finish(const std::string& id);
    void unlinkNow(const Job& job, int attempt);
    bool startUnlink(const Job& job, int attempt);
    void collectUnlinks(bool wait);
    void reapTick();
    void retry(const Job& job, int attempt, const std::string& failure);
    void record(const Job& job, Millis deletedAt, int attempt);
    void flush();

    Registry& _registry;
    Metrics& _metrics;
    const Clock& _clock;
    FileStore& _store;
    Poco::Logger& _logger;
    Poco::Util::Timer _timer;
    Poco::Util::Timer _recordTimer; ///< runs flush() only
    std::atomic<std::int64_t> _pending{0};
    std::atomic<bool> _stopped{false};
    std::mutex _doneMutex;
    std::vector<Done> _done;       ///< unlinked, not yet recorded
    bool _flushScheduled = false;  ///< a flush is queued on _recordTimer
    bool _flushUrgent = false;     ///< ... and one without delay (a full batch)
    std::mutex _timedMutex;
    std::unordered_map<std::string, Timed> _timed; ///< one entry per export with a timer
    std::deque<std::pair<std::uint64_t, std::string>> _finished; ///< (mark, id), oldest first
    std::uint64_t _nextToken = 0;
    std::uint64_t _finishMark = 0;
    bool _keepFinished = false;                    ///< set by the first watchMark()
    // Timer thread only (and stop(), once the timer is idle):
    std::unique_ptr<BatchRemover> _remover;
    std::unordered_map<std::uint64_t, InFlight> _inFlight;
    std::uint64_t _nextTag = 0;
    bool _reapScheduled = false;
};

} // namespace exportd::cleanup
