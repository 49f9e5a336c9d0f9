#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace exportd::cleanup {

/// Milliseconds since the Unix epoch, UTC. Every time in the registry and the
/// scheduler is one of these.
using Millis = std::int64_t;

/// How a clock is set against the system clock (RegistryClock).
struct ClockAlignment {
    Millis offsetUs = 0;      ///< this clock minus the system clock, in microseconds
    Millis uncertaintyUs = 0; ///< how far the true offset may be from offsetUs either way
    Millis ageMs = 0;         ///< since the offset was last measured
};

/// Source of "now". Injected everywhere time matters so that expiry logic is
/// tested without sleeping. Implementations are safe to call from any thread.
class Clock {
public:
    virtual ~Clock() = default;
    virtual Millis nowMs() const = 0;
    /// True when the registry may read the time itself at the instant it
    /// applies a decision (SQLite's julianday('now'), PostgreSQL's
    /// clock_timestamp(), inside the statement) and need not trust a reading
    /// taken before: this clock is the system's wall clock or aligned to the
    /// registry's (RegistryClock). The download gate relies on it
    /// (Registry::authorizeDownloadAt).
    virtual bool registryMayReadSystemTime() const { return false; }
    /// The offset to the system clock, for a clock set apart from it
    /// (RegistryClock); nothing for one that reads the system clock or none.
    virtual std::optional<ClockAlignment> alignment() const { return std::nullopt; }
    /// The system clock's reading (what an operating system timer waits for)
    /// at which this clock will read at least `t`: `t` itself, or for an
    /// aligned clock `t` minus the offset, rounded late by the offset's
    /// uncertainty, so that a timer set there never fires early by this clock.
    Millis systemTimeAt(Millis t) const;
};

/// The wall clock (CLOCK_REALTIME): expiry times are absolute instants shared
/// between processes, so a monotonic clock would not do.
class SystemClock : public Clock {
public:
    Millis nowMs() const override;
    bool registryMayReadSystemTime() const override { return true; }
};

/// A clock that only moves when told to; for tests. Thread-safe.
class ManualClock : public Clock {
public:
    explicit ManualClock(Millis start) : _now(start) {}
    Millis nowMs() const override { return _now.load(); }
    void set(Millis t) { _now.store(t); }
    void advance(Millis d) { _now.fetch_add(d); }

private:
    std::atomic<Millis> _now;
};

/// RFC 3339 UTC with milliseconds and a Z: "2026-11-29T11:46:25.123Z".
std::string formatRfc3339(Millis t);
/// formatRfc3339() appended to `out`.
void appendRfc3339(std::string& out, Millis t);
/// The most formatRfc3339() writes (24 chars from year 0 to 9999, more outside).
constexpr int RFC3339_MAX = 48;
/// formatRfc3339() written at `out` (room for RFC3339_MAX chars); returns its end.
char* writeRfc3339(char* out, Millis t);

/// Compact UTC stamp for file names: "20261129T114625Z".
std::string formatCompactUtc(Millis t);

} // namespace exportd::cleanup
