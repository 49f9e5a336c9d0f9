#include "Deletion.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace exportd::cleanup {

void declareDeletionMetrics(Metrics& metrics)
{
    metrics.declare(FILES_DELETED, "counter",
                    "Export files deleted, by reason (expired, deleted, sweep, orphan).");
    metrics.declareSeries(FILES_DELETED, "reason", {"expired", "deleted", "sweep", "orphan"});
    // Buckets start at 1 ms: the timer's promise is deletion within a second of
    // expiry, so the interesting detail is below that.
    metrics.declare(CLEANUP_LAG, "histogram",
                    "Seconds between an export's expires_at and the deletion of its file.",
                    {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60});
    metrics.declare(CLEANUP_FAILURES, "counter",
                    "Failed attempts to delete an export file or record its deletion.");
}

void countDeletion(Metrics& metrics, const std::string& reason, Millis deletedAt, Millis expiresAt)
{
    metrics.increment(FILES_DELETED, "reason=\"" + reason + "\"");
    if (expiresAt > 0)
        metrics.observe(CLEANUP_LAG, std::max<Millis>(0, deletedAt - expiresAt) / 1000.0);
}

Unlinked unlinkExportFile(const std::string& dir, const std::string& name)
{
    const std::string path = dir + "/" + name;
    if (::unlink(path.c_str()) == 0) return {true, true, {}};
    const int err = errno;
    if (err == ENOENT) return {true, false, {}};
    return {false, false, std::strerror(err)};
}

} // namespace exportd::cleanup
