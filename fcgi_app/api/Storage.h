#pragma once

#include "api/ApiContext.h"
#include "server/Http.h"

#include <cstdint>
#include <string>

namespace exportd {

/// Total size and count of the export files (final and .part) in `dir`.
struct DirUsage {
    std::int64_t files = 0;
    std::int64_t bytes = 0;
};
DirUsage directoryUsage(const std::string& dir);

/// Refuses a new export (RequestError 507 insufficient_storage) when the disk
/// is nearly full, the exports directory is at its quota, or `who` holds a
/// whole owner quota.
void checkStorage(const ApiContext& context, const Identity& who);

} // namespace exportd
