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
    const int year = tm.tm_year + 1900;
    char buf[64];
    if (year < 0 || year > 9999) {
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, tm.tm_mon + 1,
                      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
        return buf;
    }
    // Digits by hand: three of these per export object, and snprintf was a
    // visible share of a status poll's CPU (bench/RESULTS.md).
    auto put = [&buf](int at, int value, int width) {
        for (int i = width - 1; i >= 0; --i, value /= 10) buf[at + i] = static_cast<char>('0' + value % 10);
    };
    put(0, year, 4);
    buf[4] = '-';
    put(5, tm.tm_mon + 1, 2);
    buf[7] = '-';
    put(8, tm.tm_mday, 2);
    buf[10] = 'T';
    put(11, tm.tm_hour, 2);
    buf[13] = ':';
    put(14, tm.tm_min, 2);
    buf[16] = ':';
    put(17, tm.tm_sec, 2);
    buf[19] = '.';
    put(20, ms, 3);
    buf[23] = 'Z';
    return std::string(buf, 24);
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
