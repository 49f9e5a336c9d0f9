#include "api/ExportsResource.h"

#include "api/ExportRenderer.h"
#include "api/ExportStarter.h"
#include "api/HandlerSupport.h"
#include "export/ExportRequest.h"
#include "export/RequestError.h"
#include <algorithm>

namespace exportd {

using cleanup::ExportRecord;
using cleanup::ExportStatus;
using cleanup::ExportView;
using cleanup::Millis;

Response ExportsResource::create(const Request& request, const Identity& who)
{
    if (!isJsonContentType(request.header("content-type")))
        throw RequestError(415, "unsupported_media_type",
                           "Send the export request as JSON with Content-Type: application/json.");
    if (request.bodyTooLarge)
        throw RequestError(413, "body_too_large",
                           "The request body is larger than " + std::to_string(_context.config.maxBodyBytes) + " bytes.");
    auto catalog = _context.catalog.get();
    ExportRequest parsed = parseExportRequest(request.body, *catalog, _context.config.retentionSeconds, who.user);
    const Dataset* dataset = catalog->find(parsed.dataset);
    if (!dataset) // reloaded meanwhile
        throw unknownDataset(parsed.dataset);
    return ExportStarter(_context).start(who, *dataset, parsed.format, parsed.filters, parsed.retentionSeconds, parsed.canonicalKey);
}

Response ExportsResource::list(const Request& request, const Identity& who)
{
    int limit = 50;
    std::string text;
    if (request.queryParam("limit", text)) {
        bool digits = !text.empty() && text.size() <= 3 &&
                      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
        limit = digits ? std::stoi(text) : 0;
        if (limit < 1 || limit > 500)
            throw RequestError(400, "invalid_request", "limit must be a whole number from 1 to 500.", "limit");
    }
    std::string body = "{\"exports\":[";
    body.reserve(700 * static_cast<std::size_t>(std::min(limit, 20)) + 16);
    const Millis now = _context.clock.nowMs();
    if (!who.newCookie.empty() && !_context.config.requireIdentity) {
        // A browser without a session cookie has made nothing yet.
    } else {
        // Each row is written straight from the registry's read of it.
        struct Writer : cleanup::ListVisitor {
            std::string& body;
            const std::size_t start;
            const Millis now;
            Writer(std::string& b, Millis n) : body(b), start(b.size()), now(n) {}
            void restart() override { body.resize(start); }
            void record(const ExportView& view) override
            {
                if (body.size() > start)
                    body += ',';
                ExportRenderer::append(body, view, now);
            }
        } writer(body, now);
        _context.registry.visitList(who.listKey, limit, writer);
    }
    body += "]}";
    return jsonTextResponse(200, std::move(body));
}

} // namespace exportd
