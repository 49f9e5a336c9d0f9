#pragma once

#include "cleanup/Registry.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace exportd {

/// A registry write of an export job, tried again while the registry cannot
/// be reached (cleanup::RegistryError): 250 ms doubling to 4 s, `attempts`
/// times in all (10: about 25 s), or until `stop()` is true; then the last
/// error is thrown. A job's writes must outlast a short outage (a host cut off
/// from PostgreSQL for 20 s): given up at once, they left the record queued or
/// running under a live process, where no sweep ends it (docs/operations.md,
/// Several hosts).
template <class Write, class Stop>
auto retryRegistryWrite(Write&& write, Stop&& stop, int attempts = 10)
{
    for (int attempt = 0;; ++attempt) {
        try {
            return write();
        } catch (const cleanup::RegistryError&) {
            if (attempt >= attempts - 1 || stop())
                throw;
            std::this_thread::sleep_for(std::chrono::milliseconds(std::min(250 << attempt, 4000)));
        }
    }
}

} // namespace exportd
