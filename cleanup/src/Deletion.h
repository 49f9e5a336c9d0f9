#pragma once

#include "cleanup/Clock.h"
#include "cleanup/Metrics.h"

#include <string>

namespace exportd::cleanup {

/// Metric names shared by the scheduler and the sweeper.
inline const char* const FILES_DELETED = "exportd_files_deleted_total";
inline const char* const CLEANUP_LAG = "exportd_cleanup_lag_seconds";
inline const char* const CLEANUP_FAILURES = "exportd_cleanup_failures_total";

/// Declares the deletion metrics above; idempotent.
void declareDeletionMetrics(Metrics& metrics);

/// Counts one deleted file under `reason` and, when it was an export past its
/// expiry, observes how late the deletion came (clamped at 0).
void countDeletion(Metrics& metrics, const std::string& reason, Millis deletedAt,
                   Millis expiresAt);

/// Outcome of unlinking one file of the exports directory.
struct Unlinked {
    bool ok = false;       ///< the file is gone (removed now or already missing)
    bool removed = false;  ///< this call removed it
    std::string error;     ///< errno text when !ok
};

/// Unlinks `<dir>/<name>`; a missing file counts as gone.
Unlinked unlinkExportFile(const std::string& dir, const std::string& name);

} // namespace exportd::cleanup
