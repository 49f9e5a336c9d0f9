// Over 400 lines on purpose: curl's cookie file format (reading, matching a
// request, Set-Cookie, writing back every other line as it was) is one format.
#include "CookieJar.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace exportd::ctl {

namespace {

const char* const HTTPONLY_PREFIX = "#HttpOnly_";
const char* const LEGACY_HEADER = "# exportctl cookie jar";
const char* const NETSCAPE_HEADER =
    "# Netscape HTTP Cookie File\n"
    "# Written by exportctl --cookie-jar; curl -b/-c read and write this format too.\n"
    "\n";

bool isBlank(char c)
{
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && isBlank(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && isBlank(s.back()))
        s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && lower(a) == lower(b);
}

bool startsWith(std::string_view s, std::string_view prefix)
{
    return s.substr(0, prefix.size()) == prefix;
}

bool endsWith(std::string_view s, std::string_view suffix)
{
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool hasControl(std::string_view s)
{
    return std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

/// Digits with an optional leading '-'; clamped to the int64 range.
std::optional<std::int64_t> parseInteger(std::string_view s)
{
    bool negative = false;
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
        negative = s.front() == '-';
        s.remove_prefix(1);
    }
    if (s.empty())
        return std::nullopt;
    std::int64_t n = 0;
    const std::int64_t max = std::numeric_limits<std::int64_t>::max();
    for (char c : s) {
        if (c < '0' || c > '9')
            return std::nullopt;
        const int d = c - '0';
        n = n > (max - d) / 10 ? max : n * 10 + d;
    }
    return negative ? -n : n;
}

bool isIpAddress(std::string_view host)
{
    if (host.find(':') != std::string_view::npos)
        return true;   // IPv6
    return !host.empty() &&
           std::all_of(host.begin(), host.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

/// The request path without its query, "/" when empty.
std::string_view requestPath(std::string_view path)
{
    path = path.substr(0, path.find_first_of("?#"));
    return path.empty() || path.front() != '/' ? std::string_view("/") : path;
}

/// The path a Set-Cookie without Path gets: the request path up to (not
/// including) its last '/', or "/".
std::string defaultPath(std::string_view path)
{
    path = requestPath(path);
    const auto slash = path.rfind('/');
    return slash == 0 || slash == std::string_view::npos ? "/" : std::string(path.substr(0, slash));
}

bool pathMatches(std::string_view cookiePath, std::string_view path)
{
    path = requestPath(path);
    if (path == cookiePath)
        return true;
    return startsWith(path, cookiePath) && (endsWith(cookiePath, "/") || path[cookiePath.size()] == '/');
}

bool domainMatches(const Cookie& cookie, const std::string& host)
{
    if (host == cookie.domain)
        return true;
    return cookie.includeSubdomains && !isIpAddress(host) && endsWith(host, "." + cookie.domain);
}

std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

} // namespace

bool Cookie::operator==(const Cookie& o) const
{
    return domain == o.domain && includeSubdomains == o.includeSubdomains && path == o.path &&
           secure == o.secure && expires == o.expires && name == o.name && value == o.value &&
           httpOnly == o.httpOnly;
}

bool Cookie::sameSlot(const Cookie& o) const
{
    return name == o.name && domain == o.domain && path == o.path;
}

std::optional<std::int64_t> parseCookieDate(std::string_view text)
{
    static const char* const MONTHS[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                         "jul", "aug", "sep", "oct", "nov", "dec"};
    auto isDigit = [](char c) { return c >= '0' && c <= '9'; };
    std::optional<int> day, month, year, hour, minute, second;
    std::size_t i = 0;
    while (i < text.size()) {
        // Tokens are runs of letters, digits and ':'; everything else separates.
        auto isTokenChar = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == ':'; };
        while (i < text.size() && !isTokenChar(text[i]))
            ++i;
        const std::size_t start = i;
        while (i < text.size() && isTokenChar(text[i]))
            ++i;
        const std::string_view token = text.substr(start, i - start);
        if (token.empty())
            break;
        const bool digits = std::all_of(token.begin(), token.end(), isDigit);
        if (!hour && token.find(':') != std::string_view::npos) {
            // hh:mm:ss, one or two digits each.
            std::vector<int> parts;
            std::string_view t = token;
            while (true) {
                const auto colon = t.find(':');
                const std::string_view part = t.substr(0, colon);
                if (part.empty() || part.size() > 2 || !std::all_of(part.begin(), part.end(), isDigit))
                    break;
                parts.push_back(static_cast<int>(*parseInteger(part)));
                if (colon == std::string_view::npos)
                    break;
                t.remove_prefix(colon + 1);
            }
            if (parts.size() == 3 && t.find(':') == std::string_view::npos) {
                hour = parts[0];
                minute = parts[1];
                second = parts[2];
            }
        } else if (digits && !day && token.size() <= 2) {
            day = static_cast<int>(*parseInteger(token));
        } else if (!month && token.size() >= 3 && !digits) {
            const std::string prefix = lower(token.substr(0, 3));
            for (int m = 0; m < 12; ++m)
                if (prefix == MONTHS[m])
                    month = m + 1;
        } else if (digits && !year && token.size() >= 2 && token.size() <= 4) {
            int y = static_cast<int>(*parseInteger(token));
            if (token.size() == 2)
                y += y >= 70 ? 1900 : 2000;
            year = y;
        }
    }
    if (!day || !month || !year || !hour || *day < 1 || *day > 31 || *year < 1601 || *hour > 23 ||
        *minute > 59 || *second > 59)
        return std::nullopt;
    return daysFromCivil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day)) * 86400 +
           *hour * 3600 + *minute * 60 + *second;
}

std::optional<CookieChange> parseSetCookie(std::string_view header, const CookieTarget& target, std::int64_t now)
{
    const auto semicolon = header.find(';');
    const std::string_view pair = header.substr(0, semicolon);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos)
        return std::nullopt;
    CookieChange change;
    Cookie& c = change.cookie;
    c.name = std::string(trim(pair.substr(0, eq)));
    c.value = std::string(trim(pair.substr(eq + 1)));
    // A name or value with a TAB or a line break could not be written as one
    // jar line.
    if (c.name.empty() || hasControl(c.name) || hasControl(c.value))
        return std::nullopt;

    const std::string host = lower(target.host);
    std::optional<std::string> domain;
    std::optional<std::int64_t> maxAge, expires;
    std::string path;
    std::string_view rest = semicolon == std::string_view::npos ? std::string_view() : header.substr(semicolon + 1);
    while (!rest.empty()) {
        const auto next = rest.find(';');
        const std::string_view attribute = rest.substr(0, next);
        rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
        const auto aeq = attribute.find('=');
        const std::string key = lower(trim(attribute.substr(0, aeq)));
        const std::string_view value = aeq == std::string_view::npos ? std::string_view() : trim(attribute.substr(aeq + 1));
        if (key == "path") {
            path = !value.empty() && value.front() == '/' ? std::string(value) : std::string();
        } else if (key == "domain") {
            std::string d = lower(value);
            if (!d.empty() && d.front() == '.')
                d.erase(0, 1);
            domain = d.empty() ? std::nullopt : std::optional<std::string>(d);
        } else if (key == "secure") {
            c.secure = true;
        } else if (key == "httponly") {
            c.httpOnly = true;
        } else if (key == "max-age") {
            if (const auto v = parseInteger(value))
                maxAge = v;
        } else if (key == "expires") {
            if (const auto v = parseCookieDate(value))
                expires = v;
        }
    }

    c.path = path.empty() ? defaultPath(target.path) : path;
    if (domain && *domain != host) {
        // A Domain attribute makes the cookie go to the subdomains too; it has
        // to cover the host that set it, and cannot be a bare top-level name.
        if (isIpAddress(host) || !endsWith(host, "." + *domain) || domain->find('.') == std::string::npos)
            return std::nullopt;
        c.domain = *domain;
        c.includeSubdomains = true;
    } else {
        c.domain = host;
        c.includeSubdomains = domain.has_value() && !isIpAddress(host);
    }
    if (c.secure && !target.https)
        return std::nullopt;

    if (maxAge) {
        if (*maxAge <= 0)
            change.remove = true;
        else
            c.expires = *maxAge > std::numeric_limits<std::int64_t>::max() - now ? std::numeric_limits<std::int64_t>::max()
                                                                                 : now + *maxAge;
    } else if (expires) {
        if (*expires <= now)
            change.remove = true;
        else
            c.expires = *expires;
    }
    return change;
}

std::optional<Cookie> parseJarLine(std::string_view line)
{
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
    Cookie c;
    if (startsWith(line, HTTPONLY_PREFIX)) {
        c.httpOnly = true;
        line.remove_prefix(std::char_traits<char>::length(HTTPONLY_PREFIX));
    } else if (line.empty() || line.front() == '#') {
        return std::nullopt;
    }
    std::vector<std::string_view> fields;
    while (true) {
        const auto tab = line.find('\t');
        fields.push_back(line.substr(0, tab));
        if (tab == std::string_view::npos)
            break;
        line.remove_prefix(tab + 1);
    }
    if (fields.size() == 6)
        fields.emplace_back();   // a cookie with an empty value
    if (fields.size() != 7)
        return std::nullopt;
    std::string_view domain = fields[0];
    if (!domain.empty() && domain.front() == '.')
        domain.remove_prefix(1);
    const auto expires = parseInteger(fields[4]);
    if (domain.empty() || fields[5].empty() || !expires)
        return std::nullopt;
    c.domain = lower(domain);
    c.includeSubdomains = iequals(fields[1], "TRUE");
    c.path = fields[2].empty() ? "/" : std::string(fields[2]);
    c.secure = iequals(fields[3], "TRUE");
    c.expires = *expires;
    c.name = std::string(fields[5]);
    c.value = std::string(fields[6]);
    return c;
}

std::string formatJarLine(const Cookie& c)
{
    std::string line;
    if (c.httpOnly)
        line += HTTPONLY_PREFIX;
    if (c.includeSubdomains)
        line += '.';
    line += c.domain;
    line += c.includeSubdomains ? "\tTRUE\t" : "\tFALSE\t";
    line += c.path;
    line += c.secure ? "\tTRUE\t" : "\tFALSE\t";
    line += std::to_string(c.expires);
    line += '\t';
    line += c.name;
    line += '\t';
    line += c.value;
    return line;
}

bool cookieApplies(const Cookie& cookie, const CookieTarget& target, std::int64_t now)
{
    if (cookie.expires != 0 && cookie.expires <= now)
        return false;
    if (cookie.secure && !target.https)
        return false;
    return domainMatches(cookie, lower(target.host)) && pathMatches(cookie.path, target.path);
}

CookieJar CookieJar::parse(std::string_view text, const std::string& legacyHost)
{
    CookieJar jar;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        Line entry{std::string(line), parseJarLine(line), false};
        if (!entry.cookie && startsWith(line, LEGACY_HEADER))
            continue;   // the old format's header: the jar is rewritten in the Netscape format
        const auto eq = line.find('=');
        if (!entry.cookie && !legacyHost.empty() && !line.empty() && line.front() != '#' &&
            line.find('\t') == std::string_view::npos && eq != std::string_view::npos && eq > 0) {
            // A "name=value" line of the jar exportctl wrote before: the
            // session cookie of the server it talked to.
            Cookie c;
            c.domain = lower(legacyHost);
            c.name = std::string(line.substr(0, eq));
            c.value = std::string(line.substr(eq + 1));
            entry.cookie = c;
            entry.rewrite = true;
        }
        jar._lines.push_back(std::move(entry));
    }
    return jar;
}

std::string CookieJar::cookieHeader(const CookieTarget& target, std::int64_t now) const
{
    std::vector<const Cookie*> send;
    for (std::size_t i = 0; i < _lines.size(); ++i) {
        const auto& c = _lines[i].cookie;
        if (!c || !cookieApplies(*c, target, now))
            continue;
        // A later line for the same cookie wins, as when the file is read in order.
        const bool replaced = std::any_of(_lines.begin() + static_cast<std::ptrdiff_t>(i) + 1, _lines.end(),
                                          [&](const Line& l) { return l.cookie && l.cookie->sameSlot(*c); });
        if (!replaced)
            send.push_back(&*c);
    }
    std::stable_sort(send.begin(), send.end(),
                     [](const Cookie* a, const Cookie* b) { return a->path.size() > b->path.size(); });
    std::string header;
    for (const Cookie* c : send) {
        if (!header.empty())
            header += "; ";
        header += c->name + "=" + c->value;
    }
    return header;
}

bool CookieJar::apply(const CookieChange& change)
{
    const Cookie& c = change.cookie;
    auto same = [&](const Line& l) { return l.cookie && l.cookie->sameSlot(c); };
    auto first = std::find_if(_lines.begin(), _lines.end(), same);
    if (change.remove) {
        if (first == _lines.end())
            return false;
        _lines.erase(std::remove_if(first, _lines.end(), same), _lines.end());
        return true;
    }
    if (first == _lines.end()) {
        _lines.push_back(Line{formatJarLine(c), c, true});
        return true;
    }
    const bool duplicates = std::any_of(first + 1, _lines.end(), same);
    if (*first->cookie == c && !duplicates)
        return false;
    *first = Line{formatJarLine(c), c, true};
    _lines.erase(std::remove_if(first + 1, _lines.end(), same), _lines.end());
    return true;
}

std::string CookieJar::text() const
{
    const bool hasHeader = std::any_of(_lines.begin(), _lines.end(), [](const Line& l) {
        return startsWith(l.text, "# Netscape HTTP Cookie File") || startsWith(l.text, "# HTTP Cookie File");
    });
    std::string out = hasHeader ? "" : NETSCAPE_HEADER;
    for (const auto& l : _lines) {
        out += l.rewrite ? formatJarLine(*l.cookie) : l.text;
        out += '\n';
    }
    return out;
}

std::vector<Cookie> CookieJar::cookies() const
{
    std::vector<Cookie> out;
    for (const auto& l : _lines)
        if (l.cookie)
            out.push_back(*l.cookie);
    return out;
}

} // namespace exportd::ctl
