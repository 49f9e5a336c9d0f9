#include "api/SessionCookie.h"

#include "cleanup/ExportId.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <atomic>
#include <stdexcept>

namespace exportd {

namespace {

constexpr std::size_t ID_LENGTH = 22;  // cleanup::newExportId()
constexpr std::size_t MAC_LENGTH = 43; // 32 bytes in base64url without padding
constexpr const char* MAC_PREFIX = "exportd-session:";

std::atomic<std::uint64_t> nextKeyId{1};

/// base64url without padding, from OpenSSL's base64 (EVP_EncodeBlock). Every
/// request verifies one MAC: an ostringstream with Poco::Base64Encoder cost
/// more than the HMAC itself and shares the global locale's counters between
/// the request threads (bench/RESULTS.md, status polls).
std::string base64Url(const unsigned char* data, std::size_t size)
{
    std::string out(4 * ((size + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
    out.resize(static_cast<std::size_t>(n));
    while (!out.empty() && out.back() == '=')
        out.pop_back();
    for (char& c : out) {
        if (c == '+')
            c = '-';
        else if (c == '/')
            c = '_';
    }
    return out;
}

} // namespace

void SessionCookie::MacContextFree::operator()(evp_mac_ctx_st* context) const
{
    EVP_MAC_CTX_free(context);
}

SessionCookie::SessionCookie(std::string key) : _keyId(nextKeyId.fetch_add(1))
{
    if (key.size() < 32)
        throw std::invalid_argument("session cookie key: at least 32 bytes are needed");
    EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (hmac == nullptr)
        throw std::runtime_error("HMAC is not available from OpenSSL");
    _keyed.reset(EVP_MAC_CTX_new(hmac));
    EVP_MAC_free(hmac); // the context holds its own reference
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (!_keyed || !EVP_MAC_init(_keyed.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(), params))
        throw std::runtime_error("HMAC-SHA256 key set-up failed");
    OPENSSL_cleanse(key.data(), key.size());
}

SessionCookie::~SessionCookie() = default;

std::string SessionCookie::mac(std::string_view sessionId) const
{
    // One keyed context per thread, copied once from _keyed: restarting it
    // (EVP_MAC_init without a key) reuses the key's precomputed pads, with no
    // algorithm lookup, allocation or lock. OpenSSL's one-shot HMAC() did all
    // three on every request and cost a status poll a fifth of its CPU
    // (bench/RESULTS.md, status polls).
    thread_local std::uint64_t localKeyId = 0;
    thread_local MacContext local;
    if (localKeyId != _keyId) {
        local.reset(EVP_MAC_CTX_dup(_keyed.get()));
        localKeyId = local ? _keyId : 0;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    std::size_t length = 0;
    const std::string_view prefix(MAC_PREFIX);
    if (!local || !EVP_MAC_init(local.get(), nullptr, 0, nullptr)
        || !EVP_MAC_update(local.get(), reinterpret_cast<const unsigned char*>(prefix.data()), prefix.size())
        || !EVP_MAC_update(local.get(), reinterpret_cast<const unsigned char*>(sessionId.data()), sessionId.size())
        || !EVP_MAC_final(local.get(), digest, &length, sizeof digest))
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
