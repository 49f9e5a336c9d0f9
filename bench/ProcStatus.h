#pragma once

// What the bench programs read of their own process.

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

/// A field of /proc/self/status in kB (VmRSS, RssAnon, VmHWM) or a count (Threads); -1 when absent.
inline long procStatus(const char* field)
{
    std::ifstream in("/proc/self/status");
    std::string line;
    const std::size_t n = std::strlen(field);
    while (std::getline(in, line))
        if (line.compare(0, n, field) == 0 && line[n] == ':')
            return std::strtol(line.c_str() + n + 1, nullptr, 10);
    return -1;
}
