#pragma once

#include "cleanup/Clock.h"

#include <atomic>
#include <mutex>

namespace exportd::cleanup {

class Registry;

/// The registry's clock, read on this host: the system clock plus an offset
/// measured against Registry::registryNow() (the database server's clock for
/// PostgreSQL), so that every time this process writes to the registry, or
/// compares with one it read there, is the registry's time whatever this host's
/// own clock says (docs/operations.md, Several hosts: failover).
///
/// sync() measures the offset with one registryNow() between two readings of
/// the system clock: the registry's reading (plus half a millisecond, its
/// rounding) minus their midpoint, uncertain by half the round trip and that
/// half millisecond. The constructor syncs once; the application syncs again
/// before every heartbeat of the sweeper, and between syncs the offset stands.
/// A measurement whose round trip took longer than MAX_ROUND_TRIP_US is
/// dropped (a stalled database says little about its clock), unless the
/// offset in use is older than MAX_AGE_MS.
///
/// Any thread may read it while another syncs. Lives as long as the application.
class RegistryClock : public Clock {
public:
    /// Syncs once; throws RegistryError when the registry cannot tell its time.
    explicit RegistryClock(Registry& registry);

    Millis nowMs() const override;
    /// The registry's own clock (PostgreSQL's clock_timestamp(), SQLite's
    /// julianday('now')) is the one this clock follows.
    bool registryMayReadSystemTime() const override { return true; }
    std::optional<ClockAlignment> alignment() const override;

    /// Measures the offset anew; false when the measurement was dropped.
    /// Throws RegistryError (the offset in use stays).
    bool sync();

    static constexpr Millis MAX_ROUND_TRIP_US = 100000;
    static constexpr Millis MAX_AGE_MS = 60000;

private:
    bool measure(bool first);

    Registry& _registry;
    std::atomic<Millis> _offsetUs{0}; ///< read without the lock by nowMs()
    mutable std::mutex _mutex;
    Millis _uncertaintyUs = 0;
    Millis _syncedAtSteadyMs = 0;
};

} // namespace exportd::cleanup
