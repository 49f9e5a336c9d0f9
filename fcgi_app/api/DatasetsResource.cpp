#include "api/DatasetsResource.h"



namespace exportd {

using cleanup::ExportRecord;
using cleanup::ExportStatus;
using cleanup::ExportView;
using cleanup::Millis;

Response DatasetsResource::get(const Request&, const Identity& who)
{
    Json::Value list(Json::arrayValue);
    auto catalog = _context.catalog.get();
    for (const auto& ds : catalog->all()) {
        if (!ds.allows(who.user))
            continue;
        Json::Value d(Json::objectValue);
        d["name"] = ds.name;
        d["title"] = ds.title;
        Json::Value formats(Json::arrayValue);
        for (const auto& f : supportedFormats())
            formats.append(f);
        d["formats"] = formats;
        Json::Value columns(Json::arrayValue);
        for (const auto& c : ds.columns)
            columns.append(c);
        d["columns"] = columns;
        Json::Value filters(Json::arrayValue);
        for (const auto& f : ds.filters) {
            Json::Value fj(Json::objectValue);
            fj["field"] = f.field;
            switch (f.type) {
            case FilterType::Enum: {
                fj["type"] = "enum";
                Json::Value values(Json::arrayValue);
                for (const auto& v : f.values)
                    values.append(v);
                fj["values"] = values;
                break;
            }
            case FilterType::String: fj["type"] = "string"; break;
            case FilterType::Date: fj["type"] = "date"; break;
            case FilterType::Integer: fj["type"] = "integer"; break;
            }
            filters.append(fj);
        }
        d["filters"] = filters;
        list.append(d);
    }
    Json::Value body(Json::objectValue);
    body["datasets"] = list;
    return jsonResponse(200, body);
}

} // namespace exportd
