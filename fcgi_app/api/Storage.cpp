#include "api/Storage.h"

#include "export/RequestError.h"

namespace exportd {

StoreUsage storeUsage(const cleanup::FileStore& store)
{
    StoreUsage usage;
    try {
        for (const cleanup::StoredFile& file : store.list()) {
            ++usage.files;
            usage.bytes += file.sizeBytes;
        }
    } catch (const cleanup::StoreError&) {
        return {}; // unreadable: /api/health says so, and a new export's create() fails
    }
    return usage;
}

void checkStorage(const ApiContext& context, const Identity& who)
{
    const Config& config = context.config;
    const auto freeBytes = context.store.freeBytes();
    if (freeBytes && *freeBytes < config.minFreeBytes)
        throw RequestError(507, "insufficient_storage", "The export storage is nearly full. Please try again later.");
    if (storeUsage(context.store).bytes >= config.quotaBytes)
        throw RequestError(507, "insufficient_storage",
                           "The export storage has reached its quota. Please try again once older exports expire.");
    if (context.registry.bytesHeld(who.limitKey) >= config.ownerQuotaBytes)
        throw RequestError(507, "insufficient_storage",
                           "Your exports hold your whole storage quota (" + std::to_string(config.ownerQuotaBytes)
                               + " bytes). Delete older exports or wait for them to expire.");
}

} // namespace exportd
