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

ExportStatus statusFromString(const std::string& s)
{
    if (s == "queued") return ExportStatus::Queued;
    if (s == "running") return ExportStatus::Running;
    if (s == "ready") return ExportStatus::Ready;
    if (s == "expired") return ExportStatus::Expired;
    if (s == "deleted") return ExportStatus::Deleted;
    if (s == "failed") return ExportStatus::Failed;
    throw std::invalid_argument("unknown export status: " + s);
}

ExportStatus ExportRecord::effectiveStatus(Millis now) const
{
    if (status == ExportStatus::Ready && expiresAt && now >= *expiresAt)
        return ExportStatus::Expired;
    return status;
}

} // namespace exportd::cleanup
