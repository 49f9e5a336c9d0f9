#include "export/DateTime.h"

// The calendar here is not cleanup/Clock's: cleanup/Clock.h only formats
// instants (formatRfc3339, formatCompactUtc); parsing needs days-from-date,
// which it does not expose.

#include <cstdio>

namespace exportd {

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out)
{
    if (pos + n > s.size())
        return false;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        char c = s[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

bool isLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int daysInMonth(int y, int m)
{
    static const int DAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && isLeap(y) ? 29 : DAYS[m - 1];
}

// "YYYY-MM-DD" at the start of s; returns days since the epoch.
bool parseDate(std::string_view s, std::int64_t& days)
{
    int y, m, d;
    if (s.size() < 10 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, m) || s[7] != '-'
        || !digits(s, 8, 2, d))
        return false;
    if (m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m))
        return false;
    days = daysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
    return true;
}

std::int64_t floorDiv(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

} // namespace

void civilFromDays(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d)
{
    // Howard Hinnant's algorithm.
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        ++y;
}

std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<DateBound> parseDateBound(std::string_view s)
{
    std::int64_t days;
    if (!parseDate(s, days))
        return std::nullopt;
    DateBound b;
    if (s.size() == 10) {
        b.seconds = days * 86400;
        b.dateOnly = true;
        return b;
    }
    int hh, mm, ss;
    if (s.size() < 20 || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, hh) || s[13] != ':'
        || !digits(s, 14, 2, mm) || s[16] != ':' || !digits(s, 17, 2, ss))
        return std::nullopt;
    if (hh > 23 || mm > 59 || ss > 59)
        return std::nullopt;
    std::size_t pos = 19;
    std::int32_t nanos = 0;
    if (s[pos] == '.') {
        ++pos;
        std::size_t start = pos;
        int scale = 100000000;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            nanos += (s[pos] - '0') * scale; // digits past the nanosecond are ignored
            scale /= 10;
            ++pos;
        }
        if (pos == start)
            return std::nullopt;
    }
    if (pos >= s.size())
        return std::nullopt;
    std::int64_t offset = 0;
    if (s[pos] == 'Z' || s[pos] == 'z') {
        ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
        int oh, om;
        if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':'
            || !digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
            return std::nullopt;
        offset = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != s.size())
        return std::nullopt;
    b.seconds = days * 86400 + hh * 3600 + mm * 60 + ss - offset;
    b.nanos = nanos;
    if (b.seconds < MIN_BOUND_SECONDS || b.seconds > MAX_BOUND_SECONDS)
        return std::nullopt;
    return b;
}

std::string formatIsoUtcSeconds(std::int64_t seconds)
{
    std::int64_t days = floorDiv(seconds, 86400);
    std::int64_t rest = seconds - days * 86400;
    std::int64_t y;
    unsigned m, d;
    civilFromDays(days, y, m, d);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02dZ", static_cast<long long>(y), m, d,
                  static_cast<int>(rest / 3600), static_cast<int>(rest / 60 % 60), static_cast<int>(rest % 60));
    return buf;
}

std::string canonicalDateBound(const DateBound& bound, bool keepDateOnly)
{
    std::string text = formatIsoUtcSeconds(bound.seconds);
    if (bound.dateOnly && keepDateOnly)
        return text.substr(0, 10);
    if (bound.nanos != 0) {
        char frac[16];
        std::snprintf(frac, sizeof frac, ".%09d", static_cast<int>(bound.nanos));
        std::string f(frac);
        while (f.back() == '0')
            f.pop_back();
        text.insert(19, f);
    }
    return text;
}

std::optional<std::int64_t> parseIsoUtcSeconds(std::string_view s)
{
    std::int64_t days;
    int hh, mm, ss;
    if (s.size() != 20 || !parseDate(s, days) || s[10] != 'T' || !digits(s, 11, 2, hh) || s[13] != ':'
        || !digits(s, 14, 2, mm) || s[16] != ':' || !digits(s, 17, 2, ss) || s[19] != 'Z' || hh > 23
        || mm > 59 || ss > 59)
        return std::nullopt;
    return days * 86400 + hh * 3600 + mm * 60 + ss;
}

} // namespace exportd
