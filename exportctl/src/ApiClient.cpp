#include "ApiClient.h"

#include "CtlError.h"

#include <Poco/Crypto/DigestEngine.h>
#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPBasicCredentials.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/StreamCopier.h>

#include <json/reader.h>
#include <json/writer.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace exportd::ctl {

using Poco::Net::HTTPRequest;
using Poco::Net::HTTPResponse;

namespace {

std::string lower(std::string s)
{
    for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

} // namespace

std::string Reply::header(const std::string& name) const
{
    const std::string want = lower(name);
    for (const auto& [k, v] : headers)
        if (lower(k) == want)
            return v;
    return {};
}

Json::Value Reply::json() const
{
    Json::CharReaderBuilder builder;
    std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    Json::Value value;
    std::string errors;
    if (body.empty() || !reader->parse(body.data(), body.data() + body.size(), &value, &errors))
        return Json::Value();
    return value;
}

ApiClient::ApiClient(ClientSettings settings) : _settings(std::move(settings))
{
    try {
        _base = Poco::URI(_settings.url);
    } catch (const Poco::Exception& e) {
        throw usageError("--url " + _settings.url + ": " + e.displayText());
    }
    const std::string scheme = lower(_base.getScheme());
    if ((scheme != "http" && scheme != "https") || _base.getHost().empty())
        throw usageError("--url " + _settings.url + ": expected http://host[:port][/prefix] or https://...");
    _prefix = _base.getPath();
    while (!_prefix.empty() && _prefix.back() == '/')
        _prefix.pop_back();
    if (scheme == "https")
        Poco::Net::initializeSSL();
    loadCookies();
}

ApiClient::~ApiClient()
{
    if (lower(_base.getScheme()) == "https")
        Poco::Net::uninitializeSSL();
}

std::string ApiClient::urlOf(const std::string& apiPath) const
{
    Poco::URI u(_base);
    u.setPath(_prefix + apiPath);
    u.setQuery("");
    return u.toString();
}

std::unique_ptr<Poco::Net::HTTPClientSession> ApiClient::openSession() const
{
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (lower(_base.getScheme()) == "https") {
        // The system's CAs, plus --cacert; a certificate that does not verify
        // fails the handshake (no InvalidCertificateHandler is installed).
        Poco::Net::Context::Params params;
        params.caLocation = _settings.caFile;
        params.loadDefaultCAs = true;
        params.verificationMode = Poco::Net::Context::VERIFY_RELAXED;
        Poco::Net::Context::Ptr context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
        session = std::make_unique<Poco::Net::HTTPSClientSession>(_base.getHost(), _base.getPort(), context);
    } else {
        session = std::make_unique<Poco::Net::HTTPClientSession>(_base.getHost(), _base.getPort());
    }
    const auto micros = static_cast<Poco::Timespan::TimeDiff>(_settings.requestTimeout * 1e6);
    session->setTimeout(Poco::Timespan(micros > 0 ? micros : Poco::Timespan::SECONDS * 30));
    session->setKeepAlive(false);
    return session;
}

void ApiClient::prepare(HTTPRequest& request) const
{
    request.set("Accept", "application/json");
    request.set("User-Agent", "exportctl/" EXPORTD_VERSION);
    if (_settings.user) {
        Poco::Net::HTTPBasicCredentials credentials(*_settings.user, _settings.password.value_or(""));
        credentials.authenticate(request);
    }
    const std::string cookies = _cookies.cookieHeader(cookieTarget(request.getURI()), std::time(nullptr));
    if (!cookies.empty())
        request.set("Cookie", cookies);
}

CookieTarget ApiClient::cookieTarget(const std::string& requestUri) const
{
    CookieTarget target;
    target.host = _base.getHost();
    target.path = requestUri;
    target.https = lower(_base.getScheme()) == "https";
    return target;
}

void ApiClient::remember(const HTTPResponse& response, const std::string& requestUri)
{
    const CookieTarget target = cookieTarget(requestUri);
    const std::int64_t now = std::time(nullptr);
    bool changed = false;
    for (const auto& [name, value] : response) {
        if (lower(name) != "set-cookie")
            continue;
        const auto change = parseSetCookie(value, target, now);
        if (change && _cookies.apply(*change)) {
            _cookieChanges.push_back(*change);
            changed = true;
        }
    }
    if (changed)
        saveCookies();
}

namespace {

/// The jar's text; "" when it does not exist yet.
std::string readJar(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno == ENOENT)
            return {};
        throw CtlError(EXIT_LOCAL, "cannot read cookie jar " + path + ": " + std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        throw CtlError(EXIT_LOCAL, "cannot read cookie jar " + path + ": " + std::strerror(errno));
    return text.str();
}

} // namespace

void ApiClient::loadCookies()
{
    if (_settings.cookieJar.empty())
        return;
    _cookies = CookieJar::parse(readJar(_settings.cookieJar), _base.getHost());
}

void ApiClient::saveCookies() const
{
    const std::string& path = _settings.cookieJar;
    if (path.empty())
        return;
    CookieJar jar = CookieJar::parse(readJar(path), _base.getHost());
    for (const auto& change : _cookieChanges)
        jar.apply(change);
    const std::string text = jar.text();

    // A temporary file in the jar's directory, renamed over the jar once its
    // bytes are on disk: a reader (curl, another exportctl) sees the old jar or
    // the new one, never half of one.
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    std::string tmp = dir + "/." + base + ".XXXXXX";
    // The session cookie is a credential in demo mode: only its owner may
    // read the jar (mkostemp creates the file 0600).
    const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
    if (fd < 0)
        throw CtlError(EXIT_LOCAL, "cannot write cookie jar " + path + ": " + std::strerror(errno));
    bool ok = ::fchmod(fd, 0600) == 0;
    for (std::size_t done = 0; ok && done < text.size();) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        if (ok)
            done += static_cast<std::size_t>(n);
    }
    ok = ok && ::fsync(fd) == 0;
    int err = errno;
    ok = ::close(fd) == 0 && ok;
    if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        ::unlink(tmp.c_str());
        throw CtlError(EXIT_LOCAL, "cannot write cookie jar " + path + ": " + std::strerror(err));
    }
    // The rename itself is durable once the directory is.
    const int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirFd >= 0) {
        ::fsync(dirFd);
        ::close(dirFd);
    }
}

Reply ApiClient::exchange(const std::string& method, const std::string& apiPath, const std::string* jsonBody)
{
    Reply reply;
    try {
        auto session = openSession();
        HTTPRequest request(method, _prefix + apiPath, Poco::Net::HTTPMessage::HTTP_1_1);
        prepare(request);
        if (jsonBody) {
            request.setContentType("application/json");
            request.setContentLength(static_cast<std::streamsize>(jsonBody->size()));
            session->sendRequest(request) << *jsonBody;
        } else if (method == HTTPRequest::HTTP_POST) {
            request.setContentLength(0);
            session->sendRequest(request);
        } else {
            session->sendRequest(request);
        }
        HTTPResponse response;
        std::istream& in = session->receiveResponse(response);
        reply.status = response.getStatus();
        reply.reason = response.getReason();
        for (const auto& [k, v] : response)
            reply.headers.emplace_back(k, v);
        if (method != HTTPRequest::HTTP_HEAD)
            Poco::StreamCopier::copyToString(in, reply.body);
        remember(response, request.getURI());
    } catch (const CtlError&) {
        throw;
    } catch (const Poco::Exception& e) {
        throw CtlError(EXIT_NETWORK, method + " " + urlOf(apiPath) + ": " + e.displayText());
    } catch (const std::exception& e) {
        throw CtlError(EXIT_NETWORK, method + " " + urlOf(apiPath) + ": " + e.what());
    }
    return reply;
}

Reply ApiClient::get(const std::string& apiPath)
{
    return exchange(HTTPRequest::HTTP_GET, apiPath, nullptr);
}

Reply ApiClient::post(const std::string& apiPath, const Json::Value& body)
{
    Json::StreamWriterBuilder writer;
    writer["indentation"] = "";
    const std::string text = Json::writeString(writer, body);
    return exchange(HTTPRequest::HTTP_POST, apiPath, &text);
}

Reply ApiClient::postEmpty(const std::string& apiPath)
{
    return exchange(HTTPRequest::HTTP_POST, apiPath, nullptr);
}

Reply ApiClient::remove(const std::string& apiPath)
{
    return exchange(HTTPRequest::HTTP_DELETE, apiPath, nullptr);
}

ApiClient::Download ApiClient::download(const std::string& apiPath, std::ostream& out,
                                        const std::function<void(std::uint64_t, std::int64_t)>& progress)
{
    Download result;
    try {
        auto session = openSession();
        HTTPRequest request(HTTPRequest::HTTP_GET, _prefix + apiPath, Poco::Net::HTTPMessage::HTTP_1_1);
        prepare(request);
        session->sendRequest(request);
        HTTPResponse response;
        std::istream& in = session->receiveResponse(response);
        result.reply.status = response.getStatus();
        result.reply.reason = response.getReason();
        for (const auto& [k, v] : response)
            result.reply.headers.emplace_back(k, v);
        remember(response, request.getURI());
        if (result.reply.status != HTTPResponse::HTTP_OK) {
            Poco::StreamCopier::copyToString(in, result.reply.body);
            return result;
        }
        const std::int64_t total = response.hasContentLength() ? response.getContentLength64() : -1;
        Poco::Crypto::DigestEngine sha("SHA256");
        std::vector<char> buffer(1 << 16);
        progress(0, total);
        while (in) {
            in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
            const auto n = in.gcount();
            if (n <= 0)
                break;
            sha.update(buffer.data(), static_cast<unsigned>(n));
            out.write(buffer.data(), n);
            if (!out)
                throw CtlError(EXIT_LOCAL, "cannot write the downloaded file: " + std::string(std::strerror(errno)));
            result.bytes += static_cast<std::uint64_t>(n);
            progress(result.bytes, total);
        }
        if (in.bad())
            throw CtlError(EXIT_NETWORK, "GET " + urlOf(apiPath) + ": the connection broke during the download");
        if (total >= 0 && result.bytes != static_cast<std::uint64_t>(total))
            throw CtlError(EXIT_NETWORK, "GET " + urlOf(apiPath) + ": the download ended after " +
                                             std::to_string(result.bytes) + " of " + std::to_string(total) + " bytes");
        result.sha256 = Poco::Crypto::DigestEngine::digestToHex(sha.digest());
    } catch (const CtlError&) {
        throw;
    } catch (const Poco::Exception& e) {
        throw CtlError(EXIT_NETWORK, "GET " + urlOf(apiPath) + ": " + e.displayText());
    } catch (const std::exception& e) {
        throw CtlError(EXIT_NETWORK, "GET " + urlOf(apiPath) + ": " + e.what());
    }
    return result;
}

} // namespace exportd::ctl
