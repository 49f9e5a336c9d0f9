#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace exportd {

/// Small appenders shared by the writers' hot paths: no allocation beyond the
/// growth of `out`. Pure functions.
void appendInteger(std::string& out, std::int64_t value);
/// Shortest text that reads back as the same double; non-finite values as
/// `nonFinite` (e.g. "null" in JSON).
void appendReal(std::string& out, double value, std::string_view nonFinite);
/// Appends `text`, replacing each byte that does not start a well-formed UTF-8
/// sequence by U+FFFD. When `doubleQuotes`, each '"' is written twice (CSV).
void appendUtf8(std::string& out, std::string_view text, bool doubleQuotes = false);

} // namespace exportd
