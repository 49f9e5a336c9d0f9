#include "api/IdentityResolver.h"

#include "cleanup/ExportId.h"

namespace exportd {

IdentityResolver::IdentityResolver(const Config& config, std::string sessionKey)
    : _requireIdentity(config.requireIdentity), _identityParam(config.identityParam),
      _sessions(std::move(sessionKey))
{
}

Identity IdentityResolver::resolve(const Request& request, bool mintSession) const
{
    Identity who;
    if (_requireIdentity) {
        who.user = request.param(_identityParam);
        who.ownerKey = who.listKey = who.limitKey = "user:" + who.user;
        return who;
    }
    // Identity off: any identity param is ignored (nginx fills $remote_user
    // from any Authorization header). The id is the capability; the list and
    // the limits follow the browser's session cookie.
    // Only values exportd signed count; any other is as if absent.
    if (const auto session = _sessions.sessionOf(request)) {
        who.listKey = who.limitKey = "session:" + *session;
        return who;
    }
    // No session: a new one, whose list is empty, so that this request's
    // export joins no one else's (the double-click rule matches by list).
    who.newCookie = mintSession ? _sessions.mint() : std::string();
    who.listKey = "session:" + (mintSession ? who.newCookie : cleanup::newExportId());
    who.limitKey = "addr:" + request.param("REMOTE_ADDR");
    return who;
}

} // namespace exportd
