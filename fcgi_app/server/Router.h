#pragma once

#include "server/Http.h"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace exportd {

/// Maps method and path pattern to a handler. Patterns are literal segments
/// and `{id}` placeholders; a placeholder only matches a well-formed export id,
/// so a malformed id is a 404 before any handler (or the disk, or the registry)
/// sees it. Built once at start-up, read-only afterwards: safe to share.
class Router {
public:
    using Handler = std::function<Response(const Request&, const Identity&, const std::vector<std::string>& args)>;

    void add(const std::string& method, const std::string& pattern, Handler handler);

    /// The matching handler's response; 404 not_found for an unknown path,
    /// 405 method_not_allowed (with Allow) for a known path and another method.
    /// HEAD is answered by a GET route when no HEAD route is declared.
    Response dispatch(const Request& request, const Identity& who) const;

private:
    struct Route {
        std::string method;
        std::vector<std::string> segments;
        Handler handler;
    };
    static bool match(const Route& route, const std::vector<std::string_view>& segments,
                      std::vector<std::string>& args);
    std::vector<Route> _routes;
};

/// The segments of a path, borrowed from it; a trailing slash adds an empty one.
std::vector<std::string_view> splitPath(std::string_view path);

} // namespace exportd
