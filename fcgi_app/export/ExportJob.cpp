#include "export/ExportJob.h"

#include "export/JobErrors.h"
#include "export/JsonText.h"
#include "export/RequestError.h"
#include "export/RowSource.h"
#include "export/SourceSlots.h"
#include "export/RowWriter.h"
#include "export/SqlBuilder.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <thread>

namespace exportd {

using Steady = std::chrono::steady_clock;

namespace {

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

void JobFiles::remove() const
{
    // Best effort: a file left behind is the sweeper's (a .part of a job no
    // longer running, or a file of a failed export).
    if (partCreated && !partName.empty())
        store.remove(partName);
    if (finalCreated && !finalName.empty())
        store.remove(finalName);
}

ExportJob::ExportJob(const cleanup::ExportRecord& record, const Dataset& dataset, JobLimits limits,
                     cleanup::Registry& registry, std::function<void()> checkStop, Poco::Logger& logger,
                     SourceSlots& slots, std::function<void(RowSource*)> attachSource)
    : _record(record), _dataset(dataset), _limits(limits), _registry(registry), _checkStop(std::move(checkStop)),
      _logger(logger), _slots(slots), _attachSource(std::move(attachSource)), _started(Steady::now())
{
}

JobOutput ExportJob::write(JobFiles& files, std::int64_t& rows)
{
    const std::string& id = _record.id;
    Json::Value filters;
    std::string jsonError;
    if (!parseStrictJson(_record.filtersJson.empty() ? "{}" : _record.filtersJson, filters, jsonError))
        throw JobFailure("internal_error", "The stored filters of this export could not be read.");
    SqlQuery query;
    try {
        query = buildQuery(_dataset, filters);
    } catch (const RequestError& e) {
        throw JobFailure("invalid_request", e.what());
    }

    JobOutput out;
    try {
        const std::unique_ptr<RowSource> opened = openRowSource(_dataset, _slots, _checkStop);
        RowSource& source = *opened;
        // Detached before the source closes, whichever way this block ends.
        struct Attachment {
            const std::function<void(RowSource*)>& attach;
            Attachment(const std::function<void(RowSource*)>& a, RowSource* s) : attach(a) { if (attach) attach(s); }
            ~Attachment() { if (attach) attach(nullptr); }
        } attachment(_attachSource, &source);
        out.total = source.count(query);
        if (!_registry.updateProgress(id, 0, out.total))
            throw JobAbandoned("deleted");

        // The format's own cap (an XLSX sheet's rows) when it is the tighter one.
        const auto cap = rowCapOf(_record.format);
        const bool formatCap = cap && cap->rows <= _limits.maxRows;
        const std::int64_t limit = formatCap ? cap->rows : _limits.maxRows;
        auto tooMany = [&](std::int64_t n) {
            if (formatCap)
                return JobFailure("too_many_rows", "The export has " + thousands(n) + " rows, more than " + cap->holder
                                                       + " holds (" + thousands(limit) + "). " + cap->advice);
            return JobFailure("too_many_rows", "The export has " + thousands(n) + " rows, more than the limit of "
                                                   + thousands(limit) + ". Please narrow the filters.");
        };
        if (out.total > limit)
            throw tooMany(out.total);

        // What the owner may still hold; files of its other exports count.
        std::uint64_t byteCap = UINT64_MAX;
        if (_limits.ownerQuotaBytes > 0)
            byteCap = static_cast<std::uint64_t>(
                std::max<std::int64_t>(0, _limits.ownerQuotaBytes - _registry.bytesHeld(_record.limitKey)));
        auto overQuota = [&] {
            return JobFailure("quota_exceeded", "The export is larger than the storage you have left ("
                                                    + thousands(static_cast<std::int64_t>(byteCap))
                                                    + " bytes). Delete older exports or narrow the filters.");
        };

        source.select(query);

        WriterOptions writerOptions;
        writerOptions.csvFormulaGuard = _dataset.csvFormulaGuard;
        writerOptions.bufferBytes = _limits.bufferBytes;
        writerOptions.dateColumns = _dataset.dateColumns();
        // Ids are never reused and markRunning made this job the id's only one:
        // any `<id>.part` is this job's to remove, even if the writer failed midway.
        files.partCreated = true;
        std::unique_ptr<RowWriter> writer = makeWriter(_record.format, files.store, files.partName, writerOptions);
        writer->writeHeader(_dataset.columns);

        const std::int64_t rate = _limits.rowsPerSecond;
        const std::int64_t checkEvery = rate > 0 ? 1 : 1024;
        auto lastProgress = Steady::now();
        while (source.next()) {
            if (++rows > limit)
                throw tooMany(rows); // the source grew since the count
            writer->writeRow(source.cells());

            if (rows % checkEvery != 0)
                continue;
            if (writer->bytesSoFar() > byteCap)
                throw overQuota();
            if (rate > 0) {
                const auto due = _started + std::chrono::microseconds(rows * 1000000 / rate);
                for (auto now = Steady::now(); now < due; now = Steady::now()) {
                    std::this_thread::sleep_for(std::min<Steady::duration>(due - now, std::chrono::milliseconds(50)));
                    _checkStop();
                }
            }
            const auto now = Steady::now();
            if (now - lastProgress >= std::chrono::milliseconds(250)) {
                lastProgress = now;
                _checkStop();
                if (!_registry.updateProgress(id, rows, out.total))
                    throw JobAbandoned("deleted");
            }
        }
        _checkStop();

        writer->finish();
        out.rows = rows;
        out.bytes = writer->bytesWritten();
        if (out.bytes > byteCap)
            throw overQuota();
        out.sha256 = writer->sha256();
        return out;
    } catch (const SourceError& e) {
        _checkStop(); // a statement cancelled for DELETE or shutdown fails too: that is no source failure
        _logger.error("export " + id + ": " + e.code() + ": " + e.what());
        throw JobFailure(e.code(), e.clientMessage());
    }
}

} // namespace exportd
