#include "api/HandlerSupport.h"

#include "export/JsonText.h"
#include "export/RequestError.h"

#include <cctype>

namespace exportd {

cleanup::ExportRecord findOwned(const ApiContext& context, const std::string& id, const Identity& who)
{
    auto record = context.registry.find(id);
    if (!record || record->ownerKey != who.ownerKey)
        throw RequestError(404, "not_found", "No export with this id exists for you.");
    return std::move(*record);
}

bool isJsonContentType(const std::string& contentType)
{
    std::string ct;
    for (char c : contentType)
        if (c != ' ' && c != '\t')
            ct += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ct == "application/json")
        return true;
    return ct == "application/json;charset=utf-8" || ct == "application/json;charset=\"utf-8\"";
}

void requireJsonOrEmptyBody(const Request& request, std::int64_t maxBodyBytes)
{
    if (request.bodyTooLarge)
        throw RequestError(413, "body_too_large",
                           "The request body is larger than " + std::to_string(maxBodyBytes) + " bytes.");
    const std::string ct = request.header("content-type");
    if (request.body.empty() && ct.empty())
        return;
    if (!isJsonContentType(ct))
        throw RequestError(415, "unsupported_media_type", "Send no body, or a JSON one with Content-Type: application/json.");
    if (!request.body.empty()) {
        // The parser POST uses: depth-limited, so a deeply nested body is an
        // answer, not an exception.
        Json::Value ignored;
        std::string error;
        if (!parseStrictJsonValue(request.body, ignored, error))
            throw RequestError(400, "invalid_json", error);
    }
}

} // namespace exportd
