#include "api/HandlerSupport.h"

#include "export/JsonText.h"
#include "export/RequestError.h"

#include <Poco/Exception.h>
#include <Poco/Net/MediaType.h>
#include <Poco/String.h>

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
    // One media type, application/json, with no parameter but an optional
    // charset=utf-8 (quoted or not); names and values in any case.
    try {
        const Poco::Net::MediaType type(contentType);
        if (Poco::icompare(type.getType(), "application") != 0 || Poco::icompare(type.getSubType(), "json") != 0)
            return false;
        const auto& params = type.parameters();
        if (params.empty())
            return true;
        return params.size() == 1 && Poco::icompare(type.getParameter("charset"), "utf-8") == 0;
    } catch (const Poco::Exception&) {
        return false;
    }
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
