#include "Deletion.h"

#include <algorithm>

namespace exportd::cleanup {

void countDeletion(Metrics& metrics, const std::string& reason, Millis deletedAt, Millis expiresAt)
{
    metrics.increment(family::FILES_DELETED, labelled(family::FILES_DELETED, reason));
    if (expiresAt > 0)
        metrics.observe(family::CLEANUP_LAG, std::max<Millis>(0, deletedAt - expiresAt) / 1000.0);
}

} // namespace exportd::cleanup
