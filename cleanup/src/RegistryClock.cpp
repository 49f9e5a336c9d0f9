#include "cleanup/RegistryClock.h"

#include "cleanup/Registry.h"

#include <chrono>
#include <ctime>

namespace exportd::cleanup {

namespace {

Millis systemUs()
{
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<Millis>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

Millis steadyMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Whole milliseconds, rounded toward minus infinity (offsets may be negative).
Millis floorMs(Millis us)
{
    return us / 1000 - ((us % 1000 != 0) && (us < 0));
}

} // namespace

RegistryClock::RegistryClock(Registry& registry) : _registry(registry)
{
    measure(true);
}

Millis RegistryClock::nowMs() const
{
    return floorMs(systemUs() + _offsetUs.load(std::memory_order_relaxed));
}

std::optional<ClockAlignment> RegistryClock::alignment() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return ClockAlignment{_offsetUs.load(), _uncertaintyUs, steadyMs() - _syncedAtSteadyMs};
}

bool RegistryClock::sync()
{
    return measure(false);
}

bool RegistryClock::measure(bool first)
{
    const Millis t0 = systemUs();
    const Millis registryMs = _registry.registryNow();
    const Millis t1 = systemUs();
    std::lock_guard<std::mutex> lock(_mutex);
    if (!first && t1 - t0 > MAX_ROUND_TRIP_US && steadyMs() - _syncedAtSteadyMs < MAX_AGE_MS) return false;
    _offsetUs.store(registryMs * 1000 + 500 - (t0 + (t1 - t0) / 2));
    _uncertaintyUs = (t1 - t0 + 1) / 2 + 500;
    _syncedAtSteadyMs = steadyMs();
    return true;
}

} // namespace exportd::cleanup
