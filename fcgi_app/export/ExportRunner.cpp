#include "export/ExportRunner.h"

#include "export/ExportJob.h"
#include "export/ExportRequest.h"
#include "export/ExportPublisher.h"
#include "export/JobErrors.h"
#include "export/JsonText.h"
#include "export/RegistryRetry.h"
#include "export/RowWriter.h"

#include "cleanup/ExportId.h"

#include <Poco/AutoPtr.h>
#include <Poco/Logger.h>
#include <Poco/Notification.h>
#include <Poco/Runnable.h>

#include <algorithm>
#include <chrono>
#include <functional>

namespace exportd {

using Steady = std::chrono::steady_clock;

class ExportRunner::JobNotification : public Poco::Notification {
public:
    explicit JobNotification(cleanup::ExportRecord record) : _record(std::move(record)) {}
    const cleanup::ExportRecord& record() const { return _record; }

private:
    cleanup::ExportRecord _record;
};

// One pool thread: takes jobs off the queue until the runner stops. The
// timed wait lets a thread that missed wakeUpAll() still notice _stopping.
class ExportRunner::Worker : public Poco::Runnable {
public:
    explicit Worker(ExportRunner& runner) : _runner(runner) {}
    void run() override
    {
        while (!_runner._stopping.load()) {
            Poco::AutoPtr<Poco::Notification> n(_runner._queue.waitDequeueNotification(200));
            if (!n)
                continue;
            if (auto* job = dynamic_cast<JobNotification*>(n.get()))
                _runner.run(job->record());
        }
    }

private:
    ExportRunner& _runner;
};

namespace {

const cleanup::MetricFamily& COMPLETED = cleanup::family::EXPORTS_COMPLETED;
const cleanup::MetricFamily& FAILED = cleanup::family::EXPORTS_FAILED;
const cleanup::MetricFamily& DURATION = cleanup::family::EXPORT_DURATION;
const char* const INTERRUPTED_MESSAGE =
    "The export was interrupted because the service stopped. Please generate a new export.";

/// The filter names of a stored export, for the log ("-" when none or unreadable).
std::string storedFilterKeys(const std::string& filtersJson)
{
    Json::Value filters;
    std::string error;
    return parseStrictJson(filtersJson, filters, error) ? filterKeys(filters) : "-";
}

} // namespace

ExportRunner::ExportRunner(cleanup::Registry& registry, cleanup::CleanupScheduler& scheduler,
                           cleanup::FileStore& store, cleanup::Metrics& metrics, const cleanup::Clock& clock,
                           ExportRunnerOptions options, Poco::Logger& logger)
    : _registry(registry),
      _scheduler(scheduler),
      _store(store),
      _metrics(metrics),
      _clock(clock),
      _options(std::move(options)),
      _logger(logger),
      _slots(_options.maxSourceConnections),
      _pool(std::max(1, _options.threads), std::max(1, _options.threads))
{
    for (int i = 0; i < std::max(1, _options.threads); ++i) {
        _workers.push_back(std::make_unique<Worker>(*this));
        _pool.start(*_workers.back(), "export-" + std::to_string(i));
    }
}

ExportRunner::~ExportRunner()
{
    try {
        shutdown();
    } catch (const std::exception& e) {
        _logger.error(std::string("export runner shutdown: ") + e.what());
    }
}

void ExportRunner::setCatalog(std::shared_ptr<const DatasetCatalog> catalog)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _catalog = std::move(catalog);
}

void ExportRunner::submit(const cleanup::ExportRecord& record)
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (!_stopping.load()) {
            _local.insert(record.id);
            _queue.enqueueNotification(new JobNotification(record));
            return;
        }
    }
    failSafely(record.id, "interrupted", INTERRUPTED_MESSAGE);
}

bool ExportRunner::reserve(std::size_t max)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_local.size() + _reserved >= max)
        return false;
    ++_reserved;
    return true;
}

void ExportRunner::unreserve()
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_reserved > 0)
        --_reserved;
}

void ExportRunner::cancel(const std::string& id)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_local.count(id))
        _cancelled.insert(id);
    // Under the lock: the job detaches its source under it too, before closing it.
    if (auto it = _sources.find(id); it != _sources.end())
        it->second->cancel();
}

bool ExportRunner::isLocalJob(const std::string& id) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _local.count(id) > 0;
}

bool ExportRunner::stopRequested(const std::string& id) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _cancelled.count(id) > 0;
}

void ExportRunner::shutdown()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _stopping.store(true);
        for (auto& [id, source] : _sources)
            source->cancel();
    }
    // Jobs still queued never start: they fail as interrupted now.
    while (true) {
        Poco::AutoPtr<Poco::Notification> n(_queue.dequeueNotification());
        if (!n)
            break;
        if (auto* job = dynamic_cast<JobNotification*>(n.get())) {
            failSafely(job->record().id, "interrupted", INTERRUPTED_MESSAGE);
            std::lock_guard<std::mutex> lock(_mutex);
            _local.erase(job->record().id);
        }
    }
    _queue.wakeUpAll();
    _pool.joinAll();
}

void ExportRunner::failSafely(const std::string& id, const std::string& code, const std::string& message)
{
    try {
        if (retryRegistryWrite([&] { return _registry.markFailed(id, code, message, _clock.nowMs()); },
                               [] { return false; }))
            _metrics.increment(FAILED, "code=\"" + code + "\"");
    } catch (const std::exception& e) {
        _logger.error("export " + id + ": cannot record failure " + code + " in the registry: " + e.what());
    }
}

void ExportRunner::run(const cleanup::ExportRecord& record)
{
    const std::string& id = record.id;
    struct LocalGuard {
        ExportRunner& runner;
        const std::string& id;
        ~LocalGuard()
        {
            std::lock_guard<std::mutex> lock(runner._mutex);
            runner._local.erase(id);
            runner._cancelled.erase(id);
        }
    } guard{*this, id};

    if (_stopping.load()) {
        failSafely(id, "interrupted", INTERRUPTED_MESSAGE);
        return;
    }
    if (stopRequested(id)) {
        _logger.information("export " + id + " cancelled before it started");
        return;
    }
    // While the registry cannot be reached the mark is tried again
    // (RegistryRetry.h); then the export fails as interrupted.
    try {
        const bool marked = retryRegistryWrite(
            [&] { return _registry.markRunning(id, _options.instanceId, _clock.nowMs()); },
            [&] { return _stopping.load() || stopRequested(id); });
        if (!marked) {
            _logger.information("export " + id + " is no longer queued (deleted or taken); skipped");
            return;
        }
    } catch (const std::exception& e) {
        _logger.error("export " + id + ": cannot mark it running: " + e.what());
        failSafely(id, "interrupted", INTERRUPTED_MESSAGE);
        return;
    }

    const auto started = Steady::now();
    JobFiles files{_store, cleanup::partFileName(id), id};
    std::int64_t rows = 0;
    _logger.information("export " + id + " started: dataset=" + record.dataset + " format=" + record.format
                        + " filter_keys=" + storedFilterKeys(record.filtersJson));

    auto elapsedMs = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - started).count();
    };
    const std::function<void()> checkStop = [this, &id] {
        if (_stopping.load())
            throw JobInterrupted();
        if (stopRequested(id))
            throw JobAbandoned("cancelled");
    };

    try {
        std::shared_ptr<const DatasetCatalog> catalog;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            catalog = _catalog;
        }
        const Dataset* dataset = catalog ? catalog->find(record.dataset) : nullptr;
        if (!dataset)
            throw JobFailure("source_error", "The dataset \"" + record.dataset + "\" is no longer configured.");

        JobLimits limits;
        limits.maxRows = _options.maxRows;
        limits.rowsPerSecond = _options.rowsPerSecond;
        limits.ownerQuotaBytes = _options.ownerQuotaBytes;
        limits.bufferBytes = _options.bufferBytes;
        const auto attachSource = [this, &id](RowSource* source) {
            std::lock_guard<std::mutex> lock(_mutex);
            if (source)
                _sources[id] = source;
            else
                _sources.erase(id);
        };
        ExportJob job(record, *dataset, limits, _registry, checkStop, _logger, _slots, attachSource);
        const JobOutput output = job.write(files, rows);

        ExportPublisher(_registry, _scheduler, _clock, _options.instanceId).publish(record, output, files, checkStop);
        _metrics.increment(COMPLETED, "format=\"" + record.format + "\"");
        _metrics.observe(DURATION, static_cast<double>(elapsedMs()) / 1000.0);
        _logger.information("export " + id + " ready: dataset=" + record.dataset + " format=" + record.format
                            + " rows=" + std::to_string(rows) + " bytes=" + std::to_string(output.bytes)
                            + " ms=" + std::to_string(elapsedMs()));
    } catch (const JobAbandoned& a) {
        files.remove();
        _logger.information("export " + id + " stopped (" + a.what() + "): rows=" + std::to_string(rows)
                            + " ms=" + std::to_string(elapsedMs()));
    } catch (const JobInterrupted&) {
        files.remove();
        failSafely(id, "interrupted", INTERRUPTED_MESSAGE);
        _logger.warning("export " + id + " interrupted by shutdown: rows=" + std::to_string(rows));
    } catch (const JobFailure& f) {
        files.remove();
        failSafely(id, f.code(), f.what());
        _logger.warning("export " + id + " failed: code=" + f.code() + " dataset=" + record.dataset + " format="
                        + record.format + " rows=" + std::to_string(rows) + " ms=" + std::to_string(elapsedMs()));
    } catch (const WriteError& e) {
        files.remove();
        const std::string code = e.diskFull() ? "disk_full" : "internal_error";
        failSafely(id, code,
                   e.diskFull() ? "The export stopped because the server's disk is full. Please try again later."
                                : "The export file could not be written. Please try again later.");
        _logger.error("export " + id + " failed: code=" + code + " rows=" + std::to_string(rows) + ": " + e.what());
    } catch (const std::exception& e) {
        files.remove();
        failSafely(id, "internal_error", "The export failed because of an internal error. Please try again.");
        _logger.error("export " + id + " failed: code=internal_error rows=" + std::to_string(rows) + ": " + e.what());
    }
}

} // namespace exportd
