#pragma once

#include "export/Dataset.h"
#include "export/RowSource.h"
#include "export/SourceSlots.h"

#include "cleanup/CleanupScheduler.h"
#include "cleanup/Clock.h"
#include "cleanup/FileStore.h"
#include "cleanup/Metrics.h"
#include "cleanup/Registry.h"

#include <Poco/NotificationQueue.h>
#include <Poco/ThreadPool.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace Poco { class Logger; }

namespace exportd {

struct ExportRunnerOptions {
    std::string instanceId;
    int threads = 2;
    std::int64_t maxRows = 5000000;
    std::int64_t rowsPerSecond = 0;   ///< 0 = unlimited
    std::int64_t ownerQuotaBytes = 0; ///< bytes of files one owner (limit key) may hold; 0 = no cap
    std::size_t bufferBytes = 1 << 20;
    int maxSourceConnections = 4;     ///< connections at once to each PostgreSQL source
};

/// Runs export jobs in the background on a bounded pool of `threads` threads
/// (a Poco::ThreadPool draining one Poco::NotificationQueue).
///
/// A job: queued -> running (conditional), counts the rows, streams them from
/// the dataset's RowSource (an unshared read-only SQLite connection, or a
/// PostgreSQL connection within max_source_connections) into a RowWriter writing
/// `<id>.part` of the FileStore, reports progress, honours max_rows, the
/// rows-per-second cap and cancellation, makes the file durable, publishes it as
/// `<id>`, marks ready and hands the file to the CleanupScheduler. Any failure marks the export failed (disk_full,
/// too_many_rows, quota_exceeded, source_error, ...) and removes the partial
/// file. A file may not take its owner past ownerQuotaBytes: the cap is checked
/// while writing. A job whose
/// export was deleted meanwhile removes its file and stops.
///
/// submit()/cancel() may be called from any thread. shutdown() stops taking
/// jobs, cancels running ones (their exports are marked failed, code
/// "interrupted") and joins the threads.
class ExportRunner {
public:
    ExportRunner(cleanup::Registry& registry, cleanup::CleanupScheduler& scheduler, cleanup::FileStore& store,
                 cleanup::Metrics& metrics, const cleanup::Clock& clock,
                 ExportRunnerOptions options, Poco::Logger& logger);
    ~ExportRunner();

    ExportRunner(const ExportRunner&) = delete;
    ExportRunner& operator=(const ExportRunner&) = delete;

    /// Replaces the catalog used by jobs that start from now on (SIGHUP reload).
    void setCatalog(std::shared_ptr<const DatasetCatalog> catalog);

    /// Reserves a place for one more job when fewer than `max` are queued,
    /// running or reserved here; false when the queue is full. A reservation
    /// is given back with unreserve(), whether submit() was called or not.
    bool reserve(std::size_t max);
    void unreserve();

    /// Queues a job for a record already inserted as queued in the registry.
    void submit(const cleanup::ExportRecord& record);

    /// Asks a queued or running job to stop and remove its partial file; a
    /// running job's statement on a PostgreSQL source is cancelled on the
    /// server at once, from this thread.
    void cancel(const std::string& id);

    /// True while the job of `id` is queued or running in this process.
    bool isLocalJob(const std::string& id) const;

    void shutdown();

private:
    class JobNotification;
    class Worker;
    void run(const cleanup::ExportRecord& record);
    /// True once cancel(id) asked the job of `id` to stop (shutdown is `_stopping`).
    bool stopRequested(const std::string& id) const;
    void failSafely(const std::string& id, const std::string& code, const std::string& message);

    cleanup::Registry& _registry;
    cleanup::CleanupScheduler& _scheduler;
    cleanup::FileStore& _store;
    cleanup::Metrics& _metrics;
    const cleanup::Clock& _clock;
    ExportRunnerOptions _options;
    Poco::Logger& _logger;

    mutable std::mutex _mutex;
    std::shared_ptr<const DatasetCatalog> _catalog;
    std::set<std::string> _local;      // queued or running here
    std::set<std::string> _cancelled;
    std::map<std::string, RowSource*> _sources; // of running jobs, while open: for cancel()
    SourceSlots _slots;
    std::size_t _reserved = 0;
    std::atomic<bool> _stopping{false};

    Poco::NotificationQueue _queue;
    Poco::ThreadPool _pool;
    std::vector<std::unique_ptr<Worker>> _workers;
};

} // namespace exportd
