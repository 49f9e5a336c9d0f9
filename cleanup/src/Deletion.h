#pragma once

#include "cleanup/Clock.h"
#include "cleanup/Metrics.h"

#include <string>

namespace exportd::cleanup {

/// Counts one deleted file under `reason` (family::FILES_DELETED) and, when it was an export past its
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
