#pragma once

#include "export/Dataset.h"

#include "cleanup/FileStore.h"
#include "cleanup/Registry.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace Poco { class Logger; }

namespace exportd {

class RowSource;
class SourceSlots;

/// The files of one job in the store: `<id>.part` while it is written, `<id>`
/// once published. remove() deletes whichever this job created and still owns.
struct JobFiles {
    cleanup::FileStore& store;
    std::string partName;
    std::string finalName;
    bool partCreated = false;
    bool finalCreated = false;
    void remove() const;
};

/// What a finished job wrote.
struct JobOutput {
    std::int64_t rows = 0;
    std::int64_t total = 0;
    std::uint64_t bytes = 0;
    std::string sha256;
};

/// The limits a job runs under.
struct JobLimits {
    std::int64_t maxRows = 5000000;
    std::int64_t rowsPerSecond = 0;   ///< 0 = unlimited
    std::int64_t ownerQuotaBytes = 0; ///< 0 = no cap
    std::size_t bufferBytes = 1 << 20;
};

/// Writes one export's `.part` file: parses the stored filters, builds the
/// query, counts the rows, streams them from a RowSource into the format's
/// RowWriter, reports progress to the registry, honours the row cap (the
/// configured one and the format's own), the owner's byte quota, the
/// rows-per-second cap and `checkStop` (which throws JobInterrupted or
/// JobAbandoned). Ends with the file finished (fsynced, closed) and not yet
/// published. Throws JobFailure, JobAbandoned, JobInterrupted, WriteError.
/// Used by one thread.
class ExportJob {
public:
    /// `attachSource` is called with the job's RowSource once it is open and
    /// with nullptr before it closes, so that another thread may cancel() it
    /// meanwhile; `slots` bounds the connections to a PostgreSQL source.
    ExportJob(const cleanup::ExportRecord& record, const Dataset& dataset, JobLimits limits,
              cleanup::Registry& registry, std::function<void()> checkStop, Poco::Logger& logger,
              SourceSlots& slots, std::function<void(RowSource*)> attachSource);

    /// `rows` is kept up to date while writing, for the caller's log.
    JobOutput write(JobFiles& files, std::int64_t& rows);

private:
    const cleanup::ExportRecord& _record;
    const Dataset& _dataset;
    JobLimits _limits;
    cleanup::Registry& _registry;
    std::function<void()> _checkStop;
    Poco::Logger& _logger;
    SourceSlots& _slots;
    std::function<void(RowSource*)> _attachSource;
    std::chrono::steady_clock::time_point _started;
};

} // namespace exportd
