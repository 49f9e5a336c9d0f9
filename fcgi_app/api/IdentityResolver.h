#pragma once

#include "api/SessionCookie.h"
#include "server/Config.h"
#include "server/Http.h"

#include <string>

namespace exportd {

/// Who is asking (README "Security"): with require_identity the user nginx
/// authenticated (the FastCGI param identity_param); without it the browser's
/// signed session cookie, minting one for a request that has none.
/// Immutable after construction; any thread.
class IdentityResolver {
public:
    /// `sessionKey` signs the session cookies (the registry's shared secret).
    IdentityResolver(const Config& config, std::string sessionKey);

    /// `mintSession`: a request without a session gets a new one (not health or metrics).
    Identity resolve(const Request& request, bool mintSession) const;

private:
    bool _requireIdentity;
    std::string _identityParam;
    SessionCookie _sessions;
};

} // namespace exportd
