#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace exportd::ctl {

/// One cookie as a jar line holds it. Names and values are opaque bytes:
/// nothing here looks at what they contain.
struct Cookie {
    std::string domain;              ///< lower case, without a leading '.'
    bool includeSubdomains = false;  ///< false: sent to `domain` itself only
    std::string path = "/";
    bool secure = false;             ///< sent over https only
    std::int64_t expires = 0;        ///< epoch seconds; 0 = a session cookie
    std::string name;
    std::string value;
    bool httpOnly = false;           ///< written with the #HttpOnly_ prefix

    bool operator==(const Cookie& o) const;
    bool operator!=(const Cookie& o) const { return !(*this == o); }
    /// Whether `o` is the same cookie (name, domain and path), whatever its value.
    bool sameSlot(const Cookie& o) const;
};

/// What one Set-Cookie header asks for: store `cookie`, or remove it (Max-Age
/// <= 0, or an Expires in the past).
struct CookieChange {
    Cookie cookie;
    bool remove = false;
};

/// The request a cookie is set by or sent with.
struct CookieTarget {
    std::string host;                ///< as in the URL; compared case-insensitively
    std::string path = "/";          ///< the request path; a query after '?' is ignored
    bool https = false;
};

/// Parses a Set-Cookie header value (name=value; Path; Domain; Secure;
/// HttpOnly; Max-Age; Expires; others ignored) received for `target` at `now`.
/// Empty when the header is to be ignored: no name=value, a Domain that does
/// not cover the host, a Secure cookie sent over plain http.
std::optional<CookieChange> parseSetCookie(std::string_view header, const CookieTarget& target, std::int64_t now);

/// A cookie date (Expires) as epoch seconds: "Wed, 21 Oct 2026 07:28:00 GMT",
/// "Wednesday, 21-Oct-26 07:28:00 GMT", "Wed Oct 21 07:28:00 2026".
std::optional<std::int64_t> parseCookieDate(std::string_view text);

/// One line of the Netscape cookie file format, as curl reads (-b) and writes
/// (-c) it: domain, include-subdomains TRUE/FALSE, path, secure TRUE/FALSE,
/// expiry epoch, name, value, separated by TABs; "#HttpOnly_" before the domain
/// marks an HttpOnly cookie. Empty for a comment, a blank or a malformed line.
std::optional<Cookie> parseJarLine(std::string_view line);
/// The jar line of `cookie`, without the newline.
std::string formatJarLine(const Cookie& cookie);

/// Whether `cookie` is to be sent with a request for `target` at `now`:
/// domain, path prefix, secure and expiry.
bool cookieApplies(const Cookie& cookie, const CookieTarget& target, std::int64_t now);

/// A cookie jar file in the Netscape format (the format of curl's -b/-c), so
/// that a script can use one jar with curl and exportctl alike. Every line it
/// does not change is written back as it was read: the comments, and the
/// cookies of other sites that curl keeps in the same file. It also reads the
/// jar that exportctl wrote before it used this format ("name=value" lines
/// under "# exportctl cookie jar"): those cookies are taken as host-only
/// cookies of `legacyHost`, path "/", and written in the Netscape format the
/// next time the jar is saved. Pure: no file access, the caller gives the time.
class CookieJar {
public:
    CookieJar() = default;
    /// Reads a jar's text (any line ending).
    static CookieJar parse(std::string_view text, const std::string& legacyHost);

    /// The value of the Cookie header for a request to `target` at `now`:
    /// "a=1; b=2", the cookies with the longest path first; "" when none applies.
    std::string cookieHeader(const CookieTarget& target, std::int64_t now) const;

    /// Stores, replaces (same name, domain and path; in its line) or removes a
    /// cookie; true when the jar changed.
    bool apply(const CookieChange& change);

    /// The jar's text: the Netscape header first (added when missing), then
    /// every line in its order, each ending in "\n".
    std::string text() const;

    /// The cookies of the jar, in file order (expired ones included).
    std::vector<Cookie> cookies() const;

private:
    struct Line {
        std::string text;                ///< the line as read (without its end)
        std::optional<Cookie> cookie;
        bool rewrite = false;            ///< written from `cookie`, not `text`
    };
    std::vector<Line> _lines;
};

} // namespace exportd::ctl
