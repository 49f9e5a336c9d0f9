#include "Netrc.h"

#include "CtlError.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace exportd::ctl {

namespace {

// Splits netrc text into tokens; a macdef body (up to an empty line) is skipped.
std::vector<std::string> tokens(const std::string& text)
{
    std::vector<std::string> out;
    std::size_t i = 0;
    const std::size_t n = text.size();
    while (i < n) {
        while (i < n && std::isspace(static_cast<unsigned char>(text[i])))
            ++i;
        if (i >= n)
            break;
        std::string token;
        if (text[i] == '"') {
            ++i;
            while (i < n && text[i] != '"') {
                if (text[i] == '\\' && i + 1 < n)
                    ++i;
                token += text[i++];
            }
            ++i;
        } else {
            while (i < n && !std::isspace(static_cast<unsigned char>(text[i])))
                token += text[i++];
        }
        if (token == "macdef") {
            const auto end = text.find("\n\n", i);
            i = end == std::string::npos ? n : end + 2;
            continue;
        }
        out.push_back(token);
    }
    return out;
}

} // namespace

std::optional<NetrcEntry> findNetrc(const std::string& text, const std::string& host,
                                    const std::optional<std::string>& user)
{
    const auto t = tokens(text);
    std::optional<NetrcEntry> fallback;
    for (std::size_t i = 0; i < t.size();) {
        bool isDefault = t[i] == "default";
        if (!isDefault && t[i] != "machine") {
            ++i;
            continue;
        }
        std::string machine;
        ++i;
        if (!isDefault && i < t.size())
            machine = t[i++];
        NetrcEntry entry;
        while (i < t.size() && t[i] != "machine" && t[i] != "default") {
            const std::string& key = t[i];
            const std::string value = i + 1 < t.size() ? t[i + 1] : "";
            if (key == "login")
                entry.login = value;
            else if (key == "password")
                entry.password = value;
            i += (key == "login" || key == "password" || key == "account") ? 2 : 1;
        }
        if (user && entry.login != *user)
            continue;
        if (!isDefault && machine == host)
            return entry;
        if (isDefault && !fallback)
            fallback = entry;
    }
    return fallback;
}

std::optional<NetrcEntry> lookupNetrc(const std::string& path, const std::string& host,
                                      const std::optional<std::string>& user)
{
    std::string file = path;
    bool named = !file.empty();
    if (file.empty() && std::getenv("NETRC")) {
        file = std::getenv("NETRC");
        named = true;
    }
    if (file.empty()) {
        const char* home = std::getenv("HOME");
        if (!home)
            return std::nullopt;
        file = std::string(home) + "/.netrc";
    }
    std::ifstream in(file);
    if (!in) {
        if (!named && errno == ENOENT)
            return std::nullopt;
        throw CtlError(EXIT_LOCAL, "cannot read netrc file " + file + ": " + std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    return findNetrc(text.str(), host, user);
}

} // namespace exportd::ctl
