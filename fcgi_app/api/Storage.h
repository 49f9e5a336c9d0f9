#pragma once

#include "api/ApiContext.h"
#include "server/Http.h"

#include <cstdint>
#include <string>

namespace exportd {

/// Total size and count of the export files (final and .part) of `store`;
/// none when it cannot be read (the health check reports that).
struct StoreUsage {
    std::int64_t files = 0;
    std::int64_t bytes = 0;
};
StoreUsage storeUsage(const cleanup::FileStore& store);

/// Refuses a new export (RequestError 507 insufficient_storage) when the store
/// is nearly full, the export files are at their quota, or `who` holds a
/// whole owner quota.
void checkStorage(const ApiContext& context, const Identity& who);

} // namespace exportd
