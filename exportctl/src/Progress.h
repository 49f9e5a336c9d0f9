#pragma once

#include <json/value.h>

#include <cstdint>
#include <string>

namespace exportd::ctl {

/// Shows how an export and its download advance, on stderr: a bar redrawn in
/// place when stderr is a terminal, otherwise a plain line per state change
/// (and per 10 % step), so logs of cron jobs stay short. Silent when quiet.
/// Used by one thread.
class Progress {
public:
    Progress(bool quiet, bool terminal);
    ~Progress();

    /// An export object (docs/api.md, The export object) as polled.
    void exportStatus(const Json::Value& status);
    /// Bytes of the download so far; total -1 when unknown.
    void downloadBytes(const std::string& id, std::uint64_t done, std::int64_t total);
    /// A line of its own (ends any bar first).
    void message(const std::string& text);
    /// Ends the bar being drawn, if any.
    void finish();

    /// Whether stderr is a terminal that shows a bar (and not TERM=dumb).
    static bool stderrIsTerminal();

private:
    void draw(const std::string& label, double fraction, const std::string& detail);
    void line(const std::string& text);

    bool _quiet;
    bool _terminal;
    bool _barShown = false;
    std::string _lastState;
    int _lastStep = -1;
    std::string _lastDrawn;
};

/// 1234567 -> "1,234,567"
std::string groupDigits(std::int64_t n);
/// 1536 -> "1.5 KiB"
std::string humanBytes(std::uint64_t n);

} // namespace exportd::ctl
