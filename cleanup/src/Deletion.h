#pragma once

#include "cleanup/Clock.h"
#include "cleanup/Metrics.h"

#include <string>

namespace exportd::cleanup {

/// Counts one deleted file under `reason` (family::FILES_DELETED) and, when it was an export past its
/// expiry, observes how late the deletion came (clamped at 0).
void countDeletion(Metrics& metrics, const std::string& reason, Millis deletedAt,
                   Millis expiresAt);

} // namespace exportd::cleanup
