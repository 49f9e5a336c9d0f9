#pragma once

#include "cleanup/Clock.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace exportd::cleanup {

/// The life of an export. Stored as lower-case text in the registry.
/// `Ready` records whose expires_at has passed are reported as `expired` to
/// clients even before the timer has deleted the file (see effectiveStatus).
enum class ExportStatus { Queued, Running, Ready, Expired, Deleted, Failed };

std::string toString(ExportStatus s);
/// Throws std::invalid_argument for an unknown name.
ExportStatus statusFromString(std::string_view s);

/// What a finished file looks like: the `file` object of an export (docs/api.md).
struct FileInfo {
    std::string name;          ///< attachment name, e.g. orders-20261129T114625Z.csv
    std::int64_t sizeBytes = 0;
    std::int64_t rows = 0;
    std::string contentType;
    std::string sha256;        ///< lower-case hex
};

struct ExportView;

/// One export as the registry stores it. A plain value: copy freely.
struct ExportRecord {
    std::string id;
    std::string ownerKey;      ///< authenticated owner, "" when identity is off (the id is the capability)
    std::string listKey;       ///< whose list shows it (owner, or the browser's session cookie)
    std::string limitKey;      ///< whom it counts against (per-owner limit, double-click rule)
    std::string requestKey;    ///< canonical form of the request, for the double-click rule
    ExportStatus status = ExportStatus::Queued;
    std::string dataset;
    std::string format;
    std::string filtersJson;   ///< filters as sent, once validated (JSON text, "{}" when none)
    std::int64_t retentionSeconds = 0;
    Millis createdAt = 0;
    std::optional<Millis> startedAt;
    std::optional<Millis> readyAt;
    std::optional<Millis> expiresAt;
    std::optional<Millis> fileDeletedAt;
    std::optional<Millis> deletedAt;
    std::optional<Millis> failedAt;
    std::int64_t rowsWritten = 0;
    std::optional<std::int64_t> rowsTotal;
    FileInfo file;             ///< meaningful once ready
    std::string errorCode;     ///< when failed
    std::string errorMessage;
    std::int64_t downloadCount = 0;
    std::string instanceId;    ///< process that runs the job (queued/running)
    std::string scheduledBy;   ///< process whose timer deletes the file (ready)

    /// The status a client sees at `now`: Ready becomes Expired from expires_at on.
    ExportStatus effectiveStatus(Millis now) const;

    /// The fields a client sees, borrowed from this record (valid while it lives).
    ExportView view() const;
};

/// What a client sees of an export (the export object of docs/api.md), borrowed, not owned: from an
/// (Its fields repeat ExportRecord's on purpose: owned there, borrowed here.)
///
/// ExportRecord, or straight from a registry row while the registry reads it
/// (Registry::visitList), so rendering a list copies no column twice.
struct ExportView {
    std::string_view id;
    ExportStatus status = ExportStatus::Queued;
    std::string_view dataset;
    std::string_view format;
    std::string_view filtersJson;
    std::int64_t retentionSeconds = 0;
    Millis createdAt = 0;
    std::optional<Millis> startedAt;
    std::optional<Millis> readyAt;
    std::optional<Millis> expiresAt;
    std::optional<Millis> fileDeletedAt;
    std::optional<Millis> deletedAt;
    std::optional<Millis> failedAt;
    std::int64_t rowsWritten = 0;
    std::optional<std::int64_t> rowsTotal;
    std::string_view fileName;
    std::int64_t fileSizeBytes = 0;
    std::int64_t fileRows = 0;
    std::string_view fileContentType;
    std::string_view fileSha256;
    std::string_view errorCode;
    std::string_view errorMessage;
    std::int64_t downloadCount = 0;

    /// As ExportRecord::effectiveStatus.
    ExportStatus effectiveStatus(Millis now) const;
};

} // namespace exportd::cleanup
