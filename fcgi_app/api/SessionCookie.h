#pragma once

#include "server/Http.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct evp_mac_ctx_st;

namespace exportd {

/// The session cookie of the demo mode (no identity; README "Security"): a
/// value exportd minted, `<session id>.<HMAC-SHA256 of it>` in base64url, so
/// that a value a client invents or edits is refused as if absent. The key is
/// the registry's shared secret, so every host of a cluster verifies the
/// cookies of the others.
///
/// Over HTTPS (the FastCGI param HTTPS=on) the cookie is named with the
/// `__Host-` prefix and marked Secure: a browser then refuses it from a
/// sibling subdomain or plain HTTP, so it cannot be planted.
///
/// Immutable after construction; any thread may call it.
class SessionCookie {
public:
    static constexpr const char* NAME = "exportd_session";
    static constexpr const char* SECURE_NAME = "__Host-exportd_session";

    explicit SessionCookie(std::string key);
    ~SessionCookie();

    /// A new signed value.
    std::string mint() const;
    /// True when `value` is one this key signed.
    bool verify(std::string_view value) const;

    /// The session the request carries: the one verified value of the cookie
    /// named for its scheme. Unverifiable values are ignored; two different
    /// verified values (one planted beside the browser's own) count as none.
    std::optional<std::string> sessionOf(const Request& request) const;

    /// The Set-Cookie header value for a new session `value`.
    static std::string setCookie(const Request& request, const std::string& value);

    static bool isHttps(const Request& request);

private:
    struct MacContextFree {
        void operator()(evp_mac_ctx_st* context) const;
    };
    using MacContext = std::unique_ptr<evp_mac_ctx_st, MacContextFree>;

    std::string mac(std::string_view sessionId) const;

    /// HMAC-SHA256 keyed once; each thread computes on its own copy (mac()).
    MacContext _keyed;
    /// Names this key for the threads' copies; never reused in the process.
    std::uint64_t _keyId;
};

} // namespace exportd
