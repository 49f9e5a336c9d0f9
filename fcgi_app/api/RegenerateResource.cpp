#include "api/RegenerateResource.h"

#include "api/ExportStarter.h"
#include "api/HandlerSupport.h"
#include "export/ExportRequest.h"
#include "export/RequestError.h"
#include <json/reader.h>
#include <algorithm>
#include <memory>

namespace exportd {

using cleanup::ExportRecord;
using cleanup::ExportStatus;
using cleanup::ExportView;
using cleanup::Millis;

namespace {

Json::Value parseJsonText(const std::string& text)
{
    Json::CharReaderBuilder builder;
    Json::Value value;
    std::string errors;
    std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    if (!reader->parse(text.data(), text.data() + text.size(), &value, &errors))
        return Json::Value(Json::objectValue);
    return value;
}

} // namespace

Response RegenerateResource::post(const Request& request, const Identity& who, const std::string& id)
{
    requireJsonOrEmptyBody(request, _context.config.maxBodyBytes);
    const ExportRecord record = findOwned(_context, id, who);
    auto catalog = _context.catalog.get();
    const Dataset* dataset = catalog->find(record.dataset);
    if (!dataset || !dataset->allows(who.user))
        throw RequestError(400, "unknown_dataset", "The dataset '" + record.dataset + "' no longer exists.", "dataset");
    const Json::Value filters = parseJsonText(record.filtersJson.empty() ? "{}" : record.filtersJson);
    validateFilters(*dataset, filters);
    const std::int64_t retention = std::min(record.retentionSeconds, _context.config.retentionSeconds);
    return ExportStarter(_context).start(who, *dataset, record.format, filters, retention,
                       canonicalKey(record.dataset, record.format, filters, retention));
}

} // namespace exportd
