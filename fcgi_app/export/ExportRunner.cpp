#include "export/ExportRunner.h"

#include "export/ExportRequest.h"
#include "export/JsonText.h"
#include "export/RequestError.h"
#include "export/RowWriter.h"
#include "export/SqliteHandles.h"
#include "export/XlsxWriter.h"

#include <Poco/AutoPtr.h>
#include <Poco/Logger.h>
#include <Poco/Notification.h>
#include <Poco/Runnable.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

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

const char* const COMPLETED = "exportd_exports_completed_total";
const char* const FAILED = "exportd_exports_failed_total";
const char* const DURATION = "exportd_export_duration_seconds";
const char* const INTERRUPTED_MESSAGE =
    "The export was interrupted because the service stopped. Please generate a new export.";

/// A job ends with a failure the client is told about.
struct JobFailure {
    std::string code;
    std::string message;
};

/// A job ends quietly: cancelled, or the export was deleted meanwhile.
struct JobAbandoned {
    std::string reason;
};

/// The service is stopping: the job ends as failed/interrupted.
struct JobInterrupted {};

[[noreturn]] void sourceError(sqlite3* db, const std::string& what, Poco::Logger& logger, const std::string& id)
{
    logger.error("export " + id + ": " + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
    throw JobFailure{"source_error", "The data source could not be read. Please try again later."};
}

void prepare(sqlite3* db, const std::string& sql, const std::vector<SqlParam>& params, SqliteStatement& s,
             Poco::Logger& logger, const std::string& id)
{
    if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &s.stmt, nullptr) != SQLITE_OK)
        sourceError(db, "prepare", logger, id);
    for (std::size_t i = 0; i < params.size(); ++i) {
        const int index = static_cast<int>(i + 1);
        int rc;
        if (const auto* n = std::get_if<std::int64_t>(&params[i]))
            rc = sqlite3_bind_int64(s.stmt, index, *n);
        else {
            const auto& text = std::get<std::string>(params[i]);
            rc = sqlite3_bind_text(s.stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
        }
        if (rc != SQLITE_OK)
            sourceError(db, "bind", logger, id);
    }
}

std::string filterKeys(const std::string& filtersJson)
{
    Json::Value filters;
    std::string error;
    if (!parseStrictJson(filtersJson, filters, error))
        return "?";
    std::string keys;
    for (const auto& key : filters.getMemberNames())
        keys += (keys.empty() ? "" : ",") + key;
    return "[" + keys + "]";
}

void removeFile(const std::string& path)
{
    if (!path.empty())
        ::unlink(path.c_str());
}

void fsyncDirectory(const std::string& dir)
{
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        throw WriteError("cannot open " + dir + ": " + std::strerror(errno), false);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0)
        throw WriteError("cannot fsync " + dir + ": " + std::strerror(err), err == ENOSPC || err == EDQUOT);
}

std::string thousands(std::int64_t n)
{
    std::string digits = std::to_string(n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return out;
}

} // namespace

ExportRunner::ExportRunner(cleanup::Registry& registry, cleanup::CleanupScheduler& scheduler,
                           cleanup::Metrics& metrics, const cleanup::Clock& clock, ExportRunnerOptions options,
                           Poco::Logger& logger)
    : _registry(registry),
      _scheduler(scheduler),
      _metrics(metrics),
      _clock(clock),
      _options(std::move(options)),
      _logger(logger),
      _pool(std::max(1, _options.threads), std::max(1, _options.threads))
{
    _metrics.declare(COMPLETED, "counter", "Exports that became ready, by format.");
    _metrics.declare(FAILED, "counter", "Exports that failed, by error code.");
    _metrics.declareSeries(COMPLETED, "format", supportedFormats());
    _metrics.declareSeries(FAILED, "code",
                           {"interrupted", "source_error", "internal_error", "invalid_request", "too_many_rows",
                            "disk_full", "quota_exceeded"});
    _metrics.declare(DURATION, "histogram", "Time from a job's start to its file being ready, in seconds.",
                     {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600});
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
        if (_registry.markFailed(id, code, message, _clock.nowMs()))
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
    try {
        if (!_registry.markRunning(id, _options.instanceId, _clock.nowMs())) {
            _logger.information("export " + id + " is no longer queued (deleted or taken); skipped");
            return;
        }
    } catch (const std::exception& e) {
        _logger.error("export " + id + ": cannot mark it running: " + e.what());
        return;
    }

    const auto started = Steady::now();
    const std::string partPath = _options.exportsDir + "/" + id + ".part";
    const std::string finalPath = _options.exportsDir + "/" + id;
    std::int64_t rows = 0;
    std::uint64_t bytes = 0;
    bool partCreated = false, finalCreated = false;
    _logger.information("export " + id + " started: dataset=" + record.dataset + " format=" + record.format
                        + " filters=" + filterKeys(record.filtersJson));

    auto elapsedMs = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - started).count();
    };
    auto cleanupFiles = [&] {
        if (partCreated)
            removeFile(partPath);
        if (finalCreated)
            removeFile(finalPath);
    };
    auto checkStop = [&] {
        if (_stopping.load())
            throw JobInterrupted{};
        if (stopRequested(id))
            throw JobAbandoned{"cancelled"};
    };

    try {
        std::shared_ptr<const DatasetCatalog> catalog;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            catalog = _catalog;
        }
        const Dataset* dataset = catalog ? catalog->find(record.dataset) : nullptr;
        if (!dataset)
            throw JobFailure{"source_error", "The dataset \"" + record.dataset + "\" is no longer configured."};

        Json::Value filters;
        std::string jsonError;
        if (!parseStrictJson(record.filtersJson.empty() ? "{}" : record.filtersJson, filters, jsonError))
            throw JobFailure{"internal_error", "The stored filters of this export could not be read."};
        SqlQuery query;
        try {
            query = buildQuery(*dataset, filters);
        } catch (const RequestError& e) {
            throw JobFailure{"invalid_request", e.what()};
        }

        SqliteConnection source;
        if (sqlite3_open_v2(dataset->sourcePath.c_str(), &source.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                            nullptr)
            != SQLITE_OK)
            sourceError(source.db, "open " + dataset->sourcePath, _logger, id);
        sqlite3_busy_timeout(source.db, 5000);
        // One read transaction: the count and the rows see the same snapshot.
        if (sqlite3_exec(source.db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK)
            sourceError(source.db, "begin", _logger, id);

        std::int64_t total = 0;
        {
            SqliteStatement count;
            prepare(source.db, query.count, query.params, count, _logger, id);
            if (sqlite3_step(count.stmt) != SQLITE_ROW)
                sourceError(source.db, "count", _logger, id);
            total = sqlite3_column_int64(count.stmt, 0);
        }
        if (!_registry.updateProgress(id, 0, total))
            throw JobAbandoned{"deleted"};

        const bool xlsx = record.format == "xlsx";
        const std::int64_t limit = xlsx ? std::min(_options.maxRows, XlsxWriter::MAX_DATA_ROWS) : _options.maxRows;
        auto tooMany = [&](std::int64_t n) {
            if (xlsx && limit == XlsxWriter::MAX_DATA_ROWS)
                return JobFailure{"too_many_rows",
                                  "The export has " + thousands(n) + " rows, more than an XLSX sheet holds ("
                                      + thousands(limit) + "). Choose CSV or NDJSON, or narrow the filters."};
            return JobFailure{"too_many_rows", "The export has " + thousands(n) + " rows, more than the limit of "
                                                   + thousands(limit) + ". Please narrow the filters."};
        };
        if (total > limit)
            throw tooMany(total);

        // What the owner may still hold; files of its other exports count.
        std::uint64_t byteCap = UINT64_MAX;
        if (_options.ownerQuotaBytes > 0)
            byteCap = static_cast<std::uint64_t>(
                std::max<std::int64_t>(0, _options.ownerQuotaBytes - _registry.bytesHeld(record.limitKey)));
        auto overQuota = [&] {
            return JobFailure{"quota_exceeded",
                              "The export is larger than the storage you have left (" + thousands(static_cast<std::int64_t>(byteCap))
                                  + " bytes). Delete older exports or narrow the filters."};
        };

        SqliteStatement select;
        prepare(source.db, query.select, query.params, select, _logger, id);
        const int columns = sqlite3_column_count(select.stmt);

        WriterOptions writerOptions;
        writerOptions.csvFormulaGuard = dataset->csvFormulaGuard;
        writerOptions.bufferBytes = _options.bufferBytes;
        writerOptions.dateColumns = dataset->dateColumns();
        // Ids are never reused and markRunning made this job the id's only one:
        // any `<id>.part` is this job's to remove, even if the writer failed midway.
        partCreated = true;
        std::unique_ptr<RowWriter> writer = makeWriter(record.format, partPath, writerOptions);
        writer->writeHeader(dataset->columns);

        std::vector<Cell> cells(static_cast<std::size_t>(columns));
        const std::int64_t rate = _options.rowsPerSecond;
        const std::int64_t checkEvery = rate > 0 ? 1 : 1024;
        auto lastProgress = Steady::now();
        int rc;
        while ((rc = sqlite3_step(select.stmt)) == SQLITE_ROW) {
            if (++rows > limit)
                throw tooMany(rows); // the source grew since the count
            for (int c = 0; c < columns; ++c) {
                // One sqlite3_column_value() per cell instead of three column_*
                // calls (a third of the CPU of an export). Reading it with
                // sqlite3_value_* is safe here: the connection is NOMUTEX and
                // used by this thread only, so "unprotected" values need no mutex.
                sqlite3_value* value = sqlite3_column_value(select.stmt, c);
                Cell& cell = cells[static_cast<std::size_t>(c)];
                switch (sqlite3_value_type(value)) {
                case SQLITE_NULL: cell.type = Cell::Type::Null; break;
                case SQLITE_INTEGER:
                    cell.type = Cell::Type::Integer;
                    cell.integer = sqlite3_value_int64(value);
                    break;
                case SQLITE_FLOAT:
                    cell.type = Cell::Type::Real;
                    cell.real = sqlite3_value_double(value);
                    break;
                default: { // text; a blob is written as its bytes (the writers repair invalid UTF-8)
                    cell.type = Cell::Type::Text;
                    const auto* p = static_cast<const char*>(sqlite3_value_blob(value));
                    cell.text = std::string_view(p ? p : "", static_cast<std::size_t>(sqlite3_value_bytes(value)));
                }
                }
            }
            writer->writeRow(cells);

            if (rows % checkEvery != 0)
                continue;
            if (writer->bytesSoFar() > byteCap)
                throw overQuota();
            if (rate > 0) {
                const auto due = started + std::chrono::microseconds(rows * 1000000 / rate);
                for (auto now = Steady::now(); now < due; now = Steady::now()) {
                    std::this_thread::sleep_for(std::min<Steady::duration>(due - now, std::chrono::milliseconds(50)));
                    checkStop();
                }
            }
            const auto now = Steady::now();
            if (now - lastProgress >= std::chrono::milliseconds(250)) {
                lastProgress = now;
                checkStop();
                if (!_registry.updateProgress(id, rows, total))
                    throw JobAbandoned{"deleted"};
            }
        }
        if (rc != SQLITE_DONE)
            sourceError(source.db, "step", _logger, id);
        checkStop();

        writer->finish();
        bytes = writer->bytesWritten();
        if (bytes > byteCap)
            throw overQuota();
        if (_options.fileGid >= 0 && ::chown(partPath.c_str(), static_cast<uid_t>(-1), static_cast<gid_t>(_options.fileGid)) != 0)
            throw WriteError("cannot give " + partPath + " its group: " + std::strerror(errno), false);
        if (::chmod(partPath.c_str(), 0640) != 0)
            throw WriteError("cannot chmod " + partPath + ": " + std::strerror(errno), false);
        checkStop();
        if (::rename(partPath.c_str(), finalPath.c_str()) != 0)
            throw WriteError("cannot rename " + partPath + ": " + std::strerror(errno), false);
        partCreated = false;
        finalCreated = true;
        fsyncDirectory(_options.exportsDir);

        if (!_registry.updateProgress(id, rows, total))
            throw JobAbandoned{"deleted"};
        cleanup::FileInfo file;
        file.name = record.dataset + "-" + cleanup::formatCompactUtc(record.createdAt) + "." + extensionFor(record.format);
        file.sizeBytes = static_cast<std::int64_t>(bytes);
        file.rows = rows;
        file.contentType = contentTypeFor(record.format);
        file.sha256 = writer->sha256();
        const cleanup::Millis readyAt = _clock.nowMs();
        const cleanup::Millis expiresAt = readyAt + record.retentionSeconds * 1000;
        if (!_registry.markReady(id, file, readyAt, expiresAt, _options.instanceId))
            throw JobAbandoned{"deleted before it was ready"};
        finalCreated = false;
        _scheduler.schedule(id, expiresAt);
        _metrics.increment(COMPLETED, "format=\"" + record.format + "\"");
        _metrics.observe(DURATION, static_cast<double>(elapsedMs()) / 1000.0);
        _logger.information("export " + id + " ready: dataset=" + record.dataset + " format=" + record.format
                            + " rows=" + std::to_string(rows) + " bytes=" + std::to_string(bytes)
                            + " ms=" + std::to_string(elapsedMs()));
        return;
    } catch (const JobAbandoned& a) {
        cleanupFiles();
        _logger.information("export " + id + " stopped (" + a.reason + "): rows=" + std::to_string(rows)
                            + " ms=" + std::to_string(elapsedMs()));
        return;
    } catch (const JobInterrupted&) {
        cleanupFiles();
        failSafely(id, "interrupted", INTERRUPTED_MESSAGE);
        _logger.warning("export " + id + " interrupted by shutdown: rows=" + std::to_string(rows));
        return;
    } catch (const JobFailure& f) {
        cleanupFiles();
        failSafely(id, f.code, f.message);
        _logger.warning("export " + id + " failed: code=" + f.code + " dataset=" + record.dataset + " format="
                        + record.format + " rows=" + std::to_string(rows) + " ms=" + std::to_string(elapsedMs()));
        return;
    } catch (const WriteError& e) {
        cleanupFiles();
        const std::string code = e.diskFull() ? "disk_full" : "internal_error";
        failSafely(id, code,
                   e.diskFull() ? "The export stopped because the server's disk is full. Please try again later."
                                : "The export file could not be written. Please try again later.");
        _logger.error("export " + id + " failed: code=" + code + " rows=" + std::to_string(rows) + ": " + e.what());
        return;
    } catch (const std::exception& e) {
        cleanupFiles();
        failSafely(id, "internal_error", "The export failed because of an internal error. Please try again.");
        _logger.error("export " + id + " failed: code=internal_error rows=" + std::to_string(rows) + ": " + e.what());
        return;
    }
}

} // namespace exportd
