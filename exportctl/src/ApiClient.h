#pragma once

#include "CookieJar.h"

#include <json/value.h>

#include <Poco/URI.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace Poco::Net { class HTTPClientSession; class HTTPRequest; class HTTPResponse; }

namespace exportd::ctl {

/// One HTTP answer, body read in full.
struct Reply {
    int status = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    std::string header(const std::string& name) const;
    /// The body as JSON; a null value when it is not JSON (an nginx error page).
    Json::Value json() const;
};

struct ClientSettings {
    std::string url;                      ///< base URL; the API lives under <url>/api/
    std::optional<std::string> user;
    std::optional<std::string> password;
    std::string cookieJar;                ///< a Netscape-format jar (curl's -b/-c); "" = cookies for this run only
    std::string caFile;
    double requestTimeout = 30;
};

/// Talks HTTP(S) to exportd through nginx with Poco::Net: basic auth, the
/// cookies (kept in memory and, with a jar, in a file that curl can share),
/// JSON requests,
/// and streamed downloads hashed with SHA-256 as they arrive. One connection
/// per request, so a poll never trips over a keep-alive the server closed.
/// Used by one thread; lives for the whole run.
class ApiClient {
public:
    explicit ApiClient(ClientSettings settings);
    ~ApiClient();

    Reply get(const std::string& apiPath);
    Reply post(const std::string& apiPath, const Json::Value& body);
    /// POST without a body (Content-Length: 0), as regenerate takes it.
    Reply postEmpty(const std::string& apiPath);
    Reply remove(const std::string& apiPath);

    struct Download {
        Reply reply;                      ///< the answer; its body is filled only when status != 200
        std::uint64_t bytes = 0;
        std::string sha256;               ///< hex digest of the bytes written to `out`
    };
    /// GET `apiPath`; a 200 body streams into `out`, other bodies are read
    /// into the reply. `progress(bytesSoFar, contentLength or -1)`.
    Download download(const std::string& apiPath, std::ostream& out,
                      const std::function<void(std::uint64_t, std::int64_t)>& progress);

    /// The full URL of an API path, for messages.
    std::string urlOf(const std::string& apiPath) const;
    const Poco::URI& baseUri() const { return _base; }

private:
    std::unique_ptr<Poco::Net::HTTPClientSession> openSession() const;
    void prepare(Poco::Net::HTTPRequest& request) const;
    void remember(const Poco::Net::HTTPResponse& response, const std::string& requestUri);
    CookieTarget cookieTarget(const std::string& requestUri) const;
    Reply exchange(const std::string& method, const std::string& apiPath, const std::string* jsonBody);
    void loadCookies();
    /// Applies this run's cookie changes to the jar as it is on disk now (curl
    /// may have written it meanwhile) and replaces the file atomically.
    void saveCookies() const;

    ClientSettings _settings;
    Poco::URI _base;
    std::string _prefix;                  ///< the base URL's path without a trailing /
    CookieJar _cookies;                   ///< the jar as read at the start, plus this run's changes
    std::vector<CookieChange> _cookieChanges;
};

} // namespace exportd::ctl
