#include "server/Router.h"

#include "cleanup/ExportId.h"

#include <set>

namespace exportd {

std::vector<std::string_view> splitPath(std::string_view path)
{
    std::vector<std::string_view> segments;
    segments.reserve(4);
    std::size_t pos = 0;
    while (pos < path.size()) {
        if (path[pos] == '/') {
            ++pos;
            continue;
        }
        std::size_t end = path.find('/', pos);
        if (end == std::string_view::npos)
            end = path.size();
        segments.push_back(path.substr(pos, end - pos));
        pos = end;
    }
    // A trailing slash is a different path ("/api/exports/" is not "/api/exports").
    if (path.size() > 1 && path.back() == '/')
        segments.push_back(std::string_view());
    return segments;
}

void Router::add(const std::string& method, const std::string& pattern, Handler handler)
{
    std::vector<std::string> segments;
    for (const auto segment : splitPath(pattern))
        segments.emplace_back(segment);
    _routes.push_back(Route{method, std::move(segments), std::move(handler)});
}

bool Router::match(const Route& route, const std::vector<std::string_view>& segments,
                   std::vector<std::string>& args)
{
    if (route.segments.size() != segments.size())
        return false;
    args.clear();
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (route.segments[i] == "{id}") {
            if (!cleanup::isWellFormedId(segments[i]))
                return false;
            args.emplace_back(segments[i]);
        } else if (route.segments[i] != segments[i]) {
            return false;
        }
    }
    return true;
}

Response Router::dispatch(const Request& request, const Identity& who) const
{
    const auto segments = splitPath(request.path);
    std::vector<std::string> args;
    std::set<std::string> allowed;
    const Route* fallback = nullptr;
    for (const auto& route : _routes) {
        if (!match(route, segments, args))
            continue;
        if (route.method == request.method)
            return route.handler(request, who, args);
        allowed.insert(route.method);
        if (route.method == "GET")
            allowed.insert("HEAD");
        if (request.method == "HEAD" && route.method == "GET")
            fallback = &route;
    }
    if (fallback) {
        match(*fallback, segments, args);
        return fallback->handler(request, who, args);
    }
    if (allowed.empty())
        return errorResponse(404, "not_found", "There is nothing at this address.");
    std::string allow;
    for (const auto& m : allowed)
        allow += (allow.empty() ? "" : ", ") + m;
    Response r = errorResponse(405, "method_not_allowed",
                               "This address does not accept " + request.method + "; it accepts " + allow + ".");
    r.setHeader("Allow", allow);
    return r;
}

} // namespace exportd
