#include "cleanup/ExportId.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <sys/random.h>

namespace exportd::cleanup {

bool isWellFormedId(std::string_view name)
{
    if (name.size() < 22 || name.size() > 32) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
            || c == '_' || c == '-';
    });
}

bool isMintedId(std::string_view name)
{
    if (name.size() != 22 || !isWellFormedId(name)) return false;
    const char last = name.back();
    return last == 'A' || last == 'Q' || last == 'g' || last == 'w';
}

std::optional<ExportFileName> parseExportFileName(std::string_view name)
{
    const bool part = name.size() > PART_SUFFIX.size()
        && name.compare(name.size() - PART_SUFFIX.size(), PART_SUFFIX.size(), PART_SUFFIX) == 0;
    const std::string_view id = part ? name.substr(0, name.size() - PART_SUFFIX.size()) : name;
    if (!isMintedId(id)) return std::nullopt;
    return ExportFileName{std::string(id), part};
}

std::string partFileName(std::string_view id)
{
    std::string name(id);
    name += PART_SUFFIX;
    return name;
}

std::string newExportId()
{
    unsigned char bytes[16];
    std::size_t got = 0;
    while (got < sizeof bytes) {
        const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(std::string("getrandom: ") + std::strerror(errno));
        }
        got += static_cast<std::size_t>(n);
    }
    static const char ALPHABET[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string id;
    id.reserve(22);
    std::uint32_t acc = 0;
    int bits = 0;
    for (unsigned char b : bytes) {
        acc = (acc << 8) | b;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            id += ALPHABET[(acc >> bits) & 0x3F];
        }
    }
    if (bits > 0) id += ALPHABET[(acc << (6 - bits)) & 0x3F];
    return id;
}

} // namespace exportd::cleanup
