#include "cleanup/Clock.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>

namespace exportd::cleanup {

Millis SystemClock::nowMs() const
{
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<Millis>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

Millis Clock::systemTimeAt(Millis t) const
{
    const auto aligned = alignment();
    if (!aligned) return t;
    // Microseconds to whole milliseconds, rounded up: late, never early.
    const Millis lateUs = aligned->uncertaintyUs - aligned->offsetUs;
    return t + (lateUs >= 0 ? (lateUs + 999) / 1000 : -(-lateUs / 1000));
}

namespace {

struct UtcParts {
    std::int64_t year;
    int month, day, hour, minute, second, ms;
};

// Splits t into a UTC calendar date and time, rounding toward minus infinity
// so times before 1970 stay consistent. The date comes from the day count by
// the proleptic Gregorian arithmetic of "chrono-compatible low-level date
// algorithms" (civil_from_days): gmtime_r took its time-zone lock and was a
// visible share of a status poll's CPU (bench/RESULTS.md).
UtcParts utcParts(Millis t)
{
    auto floorDiv = [](std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); };
    const std::int64_t secs = floorDiv(t, 1000);
    const std::int64_t days = floorDiv(secs, 86400);
    const std::int64_t sod = secs - days * 86400;
    const std::int64_t z = days + 719468;
    const std::int64_t era = floorDiv(z, 146097);
    const std::int64_t doe = z - era * 146097;                                    // [0, 146096]
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; // [0, 399]
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);              // [0, 365]
    const std::int64_t mp = (5 * doy + 2) / 153;                                   // [0, 11]
    UtcParts p{};
    p.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    p.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    p.year = yoe + era * 400 + (p.month <= 2);
    p.hour = static_cast<int>(sod / 3600);
    p.minute = static_cast<int>(sod / 60 % 60);
    p.second = static_cast<int>(sod % 60);
    p.ms = static_cast<int>(t - secs * 1000);
    return p;
}

} // namespace

char* writeRfc3339(char* out, Millis t)
{
    const UtcParts p = utcParts(t);
    if (p.year < 0 || p.year > 9999) {
        const int n = std::snprintf(out, RFC3339_MAX, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
                                    static_cast<long long>(p.year), p.month, p.day, p.hour, p.minute, p.second, p.ms);
        return out + std::min(n, RFC3339_MAX - 1);
    }
    // Digits by hand: three of these per export object, and snprintf was a
    // visible share of a status poll's CPU (bench/RESULTS.md).
    auto put = [out](int at, int value, int width) {
        for (int i = width - 1; i >= 0; --i, value /= 10) out[at + i] = static_cast<char>('0' + value % 10);
    };
    // Fixed positions of YYYY-MM-DDTHH:MM:SS.mmmZ: alike lines, one per field.
    put(0, static_cast<int>(p.year), 4);
    out[4] = '-';
    put(5, p.month, 2);
    out[7] = '-';
    put(8, p.day, 2);
    out[10] = 'T';
    put(11, p.hour, 2);
    out[13] = ':';
    put(14, p.minute, 2);
    out[16] = ':';
    put(17, p.second, 2);
    out[19] = '.';
    put(20, p.ms, 3);
    out[23] = 'Z';
    return out + 24;
}

void appendRfc3339(std::string& out, Millis t)
{
    char buf[RFC3339_MAX];
    out.append(buf, writeRfc3339(buf, t));
}

std::string formatRfc3339(Millis t)
{
    std::string out;
    appendRfc3339(out, t);
    return out;
}

std::string formatCompactUtc(Millis t)
{
    const UtcParts p = utcParts(t);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04lld%02d%02dT%02d%02d%02dZ", static_cast<long long>(p.year), p.month, p.day,
                  p.hour, p.minute, p.second);
    return buf;
}

} // namespace exportd::cleanup
