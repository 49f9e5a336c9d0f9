#pragma once

// Registries that misbehave on purpose, over the real SQLite one: a clock set
// apart from this host's, and reads of the pending exports that fail on demand.

#include "sqlite/SqliteRegistry.h"

#include "cleanup/Clock.h"

#include <atomic>
#include <unistd.h>

namespace exportd::cleanup::test {

/// A registry whose clock is `skewMs` apart from this host's (a database
/// server whose clock differs), and whose registryNow() may take `delayUs`.
class SkewedRegistry : public SqliteRegistry {
public:
    SkewedRegistry(const std::string& path, Millis skewMs) : SqliteRegistry(path), _skewMs(skewMs) {}
    Millis registryNow() override
    {
        ++_reads;
        // Half the delay before the reading, half after: a round trip whose
        // midpoint is the reading's instant.
        const auto half = static_cast<useconds_t>(_delayUs.load() / 2);
        if (half > 0) ::usleep(half);
        const Millis now = SystemClock().nowMs() + _skewMs.load();
        if (half > 0) ::usleep(half);
        return now;
    }
    void setSkew(Millis skewMs) { _skewMs = skewMs; }
    void setDelayUs(Millis delayUs) { _delayUs = delayUs; }
    int reads() const { return _reads; }

private:
    std::atomic<Millis> _skewMs;
    std::atomic<Millis> _delayUs{0};
    std::atomic<int> _reads{0};
};

/// A registry whose pendingSince() fails while `failing` is set, and counts its calls.
class FlakyPendingRegistry : public SqliteRegistry {
public:
    using SqliteRegistry::SqliteRegistry;
    std::vector<PendingExpiry> pendingSince(Millis since, int limit) override
    {
        ++calls;
        if (failing) throw RegistryError("registry unreachable (test)");
        return SqliteRegistry::pendingSince(since, limit);
    }
    std::atomic<bool> failing{false};
    std::atomic<int> calls{0};
};

} // namespace exportd::cleanup::test
