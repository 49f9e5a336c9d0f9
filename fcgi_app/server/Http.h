#pragma once

#include <json/value.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace exportd {

/// A request as handlers see it: plain values, no libfcgi. Built by FcgiServer
/// from the FastCGI params and the (capped) body.
struct Request {
    std::string method;   ///< GET, HEAD, POST, DELETE, ...
    std::string path;     ///< raw path of REQUEST_URI, not percent-decoded
    std::string query;    ///< raw query string
    std::map<std::string, std::string> headers; ///< lower-case names: "content-type", "accept", "cookie"
    std::map<std::string, std::string> params;  ///< other FastCGI params used by handlers (REMOTE_ADDR, identity, ...)
    std::string body;
    bool bodyTooLarge = false;

    std::string header(const std::string& name) const;
    std::string param(const std::string& name) const;
    /// Value of ?name= in the query (percent-decoded), or nullptr-like empty optional.
    bool queryParam(const std::string& name, std::string& value) const;
};

/// Who is asking (README, "Security"), resolved once per request by the Api.
struct Identity {
    std::string user;        ///< authenticated owner; "" when identity is off
    std::string ownerKey;    ///< must equal a record's ownerKey to see it
    std::string listKey;     ///< whose list the request reads and new exports join
    std::string limitKey;    ///< per-owner limit and double-click rule
    std::string newCookie;   ///< a session cookie to set on the answer ("" = none)
};

/// A response value. Handlers return these; FcgiServer writes them out.
struct Response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    void setHeader(const std::string& name, const std::string& value);
    std::string header(const std::string& name) const;
};

/// `status` with a compact JSON body and Content-Type application/json.
Response jsonResponse(int status, const Json::Value& body);
/// The error body {"error", "message", "field"?} of every refusal (docs/api.md, errors), with extra members.
Response errorResponse(int status, const std::string& code, const std::string& message,
                       const std::string& field = "", const Json::Value& extra = Json::Value());
std::string reasonPhrase(int status);
/// True when the request's Accept header prefers text/html over JSON (a browser navigation).
bool prefersHtml(const Request& request);
/// HTML escaping for text placed in a page.
std::string htmlEscape(const std::string& text);

} // namespace exportd
