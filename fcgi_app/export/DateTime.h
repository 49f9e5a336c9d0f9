#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace exportd {

/// A date filter bound as sent by a client (docs/api.md, the date filters of creating an export), converted to UTC.
/// Pure functions, callable from any thread.
struct DateBound {
    std::int64_t seconds = 0;   ///< UTC epoch seconds (floor of the instant)
    std::int32_t nanos = 0;     ///< fraction of the second, 0..999999999
    bool dateOnly = false;      ///< "YYYY-MM-DD": the instant is that day's 00:00:00Z
};

/// Parses "YYYY-MM-DD" or an RFC 3339 date-time with `Z` or any numeric offset
/// (`T`/`t`, `Z`/`z`, any number of fraction digits; seconds 00-59, leap
/// seconds are refused). Calendar dates are checked (2026-02-30 is refused).
/// Years 0000-9999; the converted instant must also lie within those years.
std::optional<DateBound> parseDateBound(std::string_view text);

/// Canonical text of a bound: "YYYY-MM-DD" stays a date when `keepDateOnly`,
/// otherwise "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (fraction without trailing zeros).
std::string canonicalDateBound(const DateBound& bound, bool keepDateOnly);

/// Days since 1970-01-01 of a proleptic Gregorian date (no range checks).
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d);

/// The proleptic Gregorian date of `days` since 1970-01-01 (any sign; year 0 is 1 BC).
void civilFromDays(std::int64_t days, std::int64_t& y, unsigned& m, unsigned& d);

/// "YYYY-MM-DDTHH:MM:SSZ" for epoch seconds within years 0000-9999.
std::string formatIsoUtcSeconds(std::int64_t seconds);

/// Parses exactly "YYYY-MM-DDTHH:MM:SSZ" (how the demo stores dates); for the
/// XLSX writer's date cells.
std::optional<std::int64_t> parseIsoUtcSeconds(std::string_view text);

/// Smallest and largest instants a bound may have (0000-01-01T00:00:00Z,
/// 9999-12-31T23:59:59Z), in epoch seconds.
constexpr std::int64_t MIN_BOUND_SECONDS = -62167219200LL;
constexpr std::int64_t MAX_BOUND_SECONDS = 253402300799LL;

} // namespace exportd
