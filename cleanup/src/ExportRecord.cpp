#include "cleanup/ExportRecord.h"

#include <stdexcept>

namespace exportd::cleanup {

std::string toString(ExportStatus s)
{
    switch (s) {
    case ExportStatus::Queued: return "queued";
    case ExportStatus::Running: return "running";
    case ExportStatus::Ready: return "ready";
    case ExportStatus::Expired: return "expired";
    case ExportStatus::Deleted: return "deleted";
    case ExportStatus::Failed: return "failed";
    }
    throw std::invalid_argument("unknown export status");
}

ExportStatus statusFromString(std::string_view s)
{
    if (s == "queued") return ExportStatus::Queued;
    if (s == "running") return ExportStatus::Running;
    if (s == "ready") return ExportStatus::Ready;
    if (s == "expired") return ExportStatus::Expired;
    if (s == "deleted") return ExportStatus::Deleted;
    if (s == "failed") return ExportStatus::Failed;
    throw std::invalid_argument("unknown export status: " + std::string(s));
}

namespace {

ExportStatus effective(ExportStatus status, const std::optional<Millis>& expiresAt, Millis now)
{
    if (status == ExportStatus::Ready && expiresAt && now >= *expiresAt)
        return ExportStatus::Expired;
    return status;
}

} // namespace

ExportStatus ExportRecord::effectiveStatus(Millis now) const
{
    return effective(status, expiresAt, now);
}

ExportStatus ExportView::effectiveStatus(Millis now) const
{
    return effective(status, expiresAt, now);
}

ExportView ExportRecord::view() const
{
    ExportView v;
    v.id = id;
    v.status = status;
    v.dataset = dataset;
    v.format = format;
    v.filtersJson = filtersJson;
    v.retentionSeconds = retentionSeconds;
    v.createdAt = createdAt;
    v.startedAt = startedAt;
    v.readyAt = readyAt;
    v.expiresAt = expiresAt;
    v.fileDeletedAt = fileDeletedAt;
    v.deletedAt = deletedAt;
    v.failedAt = failedAt;
    v.rowsWritten = rowsWritten;
    v.rowsTotal = rowsTotal;
    v.fileName = file.name;
    v.fileSizeBytes = file.sizeBytes;
    v.fileRows = file.rows;
    v.fileContentType = file.contentType;
    v.fileSha256 = file.sha256;
    v.errorCode = errorCode;
    v.errorMessage = errorMessage;
    v.downloadCount = downloadCount;
    return v;
}

} // namespace exportd::cleanup
