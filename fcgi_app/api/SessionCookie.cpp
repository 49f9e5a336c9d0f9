#include "api/SessionCookie.h"

#include "cleanup/ExportId.h"

#include <Poco/Base64Encoder.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <sstream>
#include <stdexcept>

namespace exportd {

namespace {

constexpr std::size_t ID_LENGTH = 22;  // cleanup::newExportId()
constexpr std::size_t MAC_LENGTH = 43; // 32 bytes in base64url without padding

std::string base64Url(const unsigned char* data, std::size_t size)
{
    std::ostringstream out;
    Poco::Base64Encoder encoder(out, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
    encoder.rdbuf()->setLineLength(0);
    encoder.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    encoder.close();
    return out.str();
}

} // namespace

SessionCookie::SessionCookie(std::string key) : _key(std::move(key))
{
    if (_key.size() < 32)
        throw std::invalid_argument("session cookie key: at least 32 bytes are needed");
}

std::string SessionCookie::mac(std::string_view sessionId) const
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    const std::string message = "exportd-session:" + std::string(sessionId);
    if (!HMAC(EVP_sha256(), _key.data(), static_cast<int>(_key.size()),
              reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length))
        throw std::runtime_error("HMAC-SHA256 failed");
    return base64Url(digest, length);
}

std::string SessionCookie::mint() const
{
    const std::string id = cleanup::newExportId();
    return id + "." + mac(id);
}

bool SessionCookie::verify(std::string_view value) const
{
    if (value.size() != ID_LENGTH + 1 + MAC_LENGTH || value[ID_LENGTH] != '.')
        return false;
    const std::string_view id = value.substr(0, ID_LENGTH);
    if (!cleanup::isMintedId(id))
        return false;
    const std::string expected = mac(id);
    return CRYPTO_memcmp(expected.data(), value.data() + ID_LENGTH + 1, MAC_LENGTH) == 0;
}

bool SessionCookie::isHttps(const Request& request)
{
    const std::string https = request.param("HTTPS");
    return https == "on" || https == "ON" || https == "1";
}

std::optional<std::string> SessionCookie::sessionOf(const Request& request) const
{
    const std::string name = std::string(isHttps(request) ? SECURE_NAME : NAME) + "=";
    const std::string header = request.header("cookie");
    std::optional<std::string> found;
    std::size_t pos = 0;
    while (pos < header.size()) {
        while (pos < header.size() && (header[pos] == ' ' || header[pos] == ';' || header[pos] == '\t'))
            ++pos;
        std::size_t end = header.find(';', pos);
        if (end == std::string::npos)
            end = header.size();
        std::string_view item(header.data() + pos, end - pos);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
            item.remove_suffix(1);
        if (item.compare(0, name.size(), name) == 0) {
            const std::string_view value = item.substr(name.size());
            if (verify(value)) {
                if (found && *found != value)
                    return std::nullopt; // two sessions: trust neither
                found = std::string(value);
            }
        }
        pos = end + 1;
    }
    return found;
}

std::string SessionCookie::setCookie(const Request& request, const std::string& value)
{
    if (isHttps(request))
        return std::string(SECURE_NAME) + "=" + value + "; Path=/; Secure; HttpOnly; SameSite=Strict";
    return std::string(NAME) + "=" + value + "; Path=/; HttpOnly; SameSite=Strict";
}

} // namespace exportd
