#include "cleanup/Clock.h"

#include <cstdio>
#include <ctime>

namespace exportd::cleanup {

Millis SystemClock::nowMs() const
{
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<Millis>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

namespace {

// Splits t into a UTC calendar time and the milliseconds within the second,
// rounding toward minus infinity so times before 1970 stay consistent.
std::tm utcParts(Millis t, int& ms)
{
    Millis secs = t / 1000;
    ms = static_cast<int>(t % 1000);
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    std::time_t tt = static_cast<std::time_t>(secs);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    return tm;
}

} // namespace

std::string formatRfc3339(Millis t)
{
    int ms = 0;
    std::tm tm = utcParts(t, ms);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return buf;
}

std::string formatCompactUtc(Millis t)
{
    int ms = 0;
    std::tm tm = utcParts(t, ms);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

} // namespace exportd::cleanup
