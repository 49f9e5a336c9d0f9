#include "Progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

namespace exportd::ctl {

namespace {

const int BAR_WIDTH = 30;

} // namespace

std::string groupDigits(std::int64_t n)
{
    std::string digits = std::to_string(n < 0 ? -n : n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return (n < 0 ? "-" : "") + out;
}

std::string humanBytes(std::uint64_t n)
{
    static const char* const UNITS[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    int unit = 0;
    while (v >= 1024 && unit < 4) {
        v /= 1024;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", v, UNITS[unit]);
    return text;
}

Progress::Progress(bool quiet, bool terminal) : _quiet(quiet), _terminal(terminal)
{
}

Progress::~Progress()
{
    finish();
}

bool Progress::stderrIsTerminal()
{
    const char* term = std::getenv("TERM");
    return ::isatty(STDERR_FILENO) == 1 && !(term && std::strcmp(term, "dumb") == 0);
}

void Progress::line(const std::string& text)
{
    if (_quiet)
        return;
    finish();
    std::cerr << "exportctl: " << text << std::endl;
}

void Progress::message(const std::string& text)
{
    line(text);
}

void Progress::finish()
{
    if (_barShown) {
        std::cerr << "\n" << std::flush;
        _barShown = false;
        _lastDrawn.clear();
    }
}

void Progress::draw(const std::string& label, double fraction, const std::string& detail)
{
    std::string bar;
    if (fraction >= 0) {
        const int filled = static_cast<int>(std::floor(std::min(1.0, fraction) * BAR_WIDTH));
        bar = "[" + std::string(static_cast<std::size_t>(filled), '#') +
              std::string(static_cast<std::size_t>(BAR_WIDTH - filled), '-') + "] ";
        char pct[16];
        std::snprintf(pct, sizeof pct, "%3d%% ", static_cast<int>(std::floor(std::min(1.0, fraction) * 100)));
        bar += pct;
    }
    std::string text = label + " " + bar + detail;
    if (text == _lastDrawn)
        return;
    _lastDrawn = text;
    // \r and clear-to-end-of-line: the bar is redrawn in place.
    std::cerr << "\r" << text << "\x1b[K" << std::flush;
    _barShown = true;
}

void Progress::exportStatus(const Json::Value& status)
{
    if (_quiet)
        return;
    const std::string id = status["id"].asString();
    const std::string state = status["status"].asString();
    const Json::Value& progress = status["progress"];
    const Json::Int64 written = progress.isObject() && progress["rows_written"].isIntegral()
                                    ? progress["rows_written"].asInt64() : 0;
    const bool hasTotal = progress.isObject() && progress["rows_total"].isIntegral();
    const Json::Int64 total = hasTotal ? progress["rows_total"].asInt64() : 0;
    double fraction = -1;
    if (progress.isObject() && progress["percent"].isNumeric())
        fraction = progress["percent"].asDouble() / 100.0;
    else if (hasTotal && total > 0)
        fraction = static_cast<double>(written) / static_cast<double>(total);
    std::string rows = groupDigits(written) + (hasTotal ? "/" + groupDigits(total) : "") + " rows";

    if (state != "queued" && state != "running") {
        // A bar left at its last poll (say 37 %) would read as a stall.
        if (_terminal && _barShown && state == "ready")
            draw(id.substr(0, 8) + " ready  ", 1.0, groupDigits(status["file"]["rows"].asInt64()) + " rows");
        finish();
        return;
    }
    if (_terminal) {
        draw(id.substr(0, 8) + " " + state, state == "running" ? fraction : -1, state == "running" ? rows : "");
        return;
    }
    const int step = fraction >= 0 ? static_cast<int>(fraction * 10) : -1;
    if (state == _lastState && step == _lastStep)
        return;
    _lastState = state;
    _lastStep = step;
    std::string text = id + " " + state;
    if (state == "running") {
        text += " " + rows;
        if (fraction >= 0)
            text += " (" + std::to_string(static_cast<int>(fraction * 100)) + "%)";
    }
    line(text);
}

void Progress::downloadBytes(const std::string& id, std::uint64_t done, std::int64_t total)
{
    if (_quiet || !_terminal)
        return;
    const double fraction = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : -1;
    draw(id.substr(0, 8) + " download", fraction,
         humanBytes(done) + (total >= 0 ? " of " + humanBytes(static_cast<std::uint64_t>(total)) : ""));
}

} // namespace exportd::ctl
