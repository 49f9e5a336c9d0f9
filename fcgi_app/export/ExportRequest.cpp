#include "export/ExportRequest.h"

#include "export/FilterSpec.h"
#include "export/JsonText.h"
#include "export/RequestError.h"

#include <algorithm>
#include <limits>

namespace exportd {

using detail::describeType;
using detail::invalid;
using detail::requireString;

void validateFilters(const Dataset& dataset, const Json::Value& filters) { parseFilters(dataset, filters); }

RequestError unknownDataset(const std::string& name)
{
    return RequestError(400, "unknown_dataset", "There is no dataset named \"" + name + "\".", "dataset");
}

ExportRequest parseExportRequest(const std::string& body, const DatasetCatalog& catalog,
                                 std::int64_t maxRetentionSeconds, const std::string& owner)
{
    Json::Value root;
    std::string error;
    if (!parseStrictJsonValue(body, root, error))
        throw RequestError(400, "invalid_json", error);
    if (!root.isObject())
        invalid("", "The request body must be a JSON object such as {\"dataset\": \"orders\"}, not "
                        + describeType(root) + ".");

    for (const auto& key : root.getMemberNames())
        if (key != "dataset" && key != "format" && key != "filters" && key != "retention_seconds")
            invalid(key, "\"" + key + "\" is not a known key; use dataset, format, filters and retention_seconds.");

    ExportRequest req;
    if (!root.isMember("dataset"))
        invalid("dataset", "\"dataset\" is required.");
    req.dataset = requireString(root["dataset"], "dataset", "\"dataset\"");
    // A dataset this owner may not use does not exist for it: the same answer,
    // before anything of the dataset (formats, filters, values) is looked at.
    const Dataset* dataset = catalog.find(req.dataset);
    if (!dataset || !dataset->allows(owner))
        throw unknownDataset(req.dataset);

    if (root.isMember("format")) {
        req.format = requireString(root["format"], "format", "\"format\"");
        const auto& formats = supportedFormats();
        if (std::find(formats.begin(), formats.end(), req.format) == formats.end())
            throw RequestError(400, "unsupported_format",
                               "The format \"" + req.format + "\" is not supported; use csv, ndjson or xlsx.",
                               "format");
    }

    req.retentionSeconds = maxRetentionSeconds;
    if (root.isMember("retention_seconds")) {
        const std::string range = "from 1 to " + std::to_string(maxRetentionSeconds);
        const Json::Value& r = root["retention_seconds"];
        if (r.type() != Json::intValue && r.type() != Json::uintValue)
            invalid("retention_seconds", "\"retention_seconds\" must be a whole number of seconds " + range + ".");
        if (r.type() == Json::uintValue && r.asUInt64() > static_cast<Json::UInt64>(maxRetentionSeconds))
            invalid("retention_seconds", "\"retention_seconds\" must be " + range + ".");
        std::int64_t value = r.asInt64();
        if (value < 1 || value > maxRetentionSeconds)
            invalid("retention_seconds", "\"retention_seconds\" must be " + range + ".");
        req.retentionSeconds = value;
    }

    if (root.isMember("filters"))
        req.filters = root["filters"];
    parseFilters(*dataset, req.filters);
    req.canonicalKey = canonicalKey(req.dataset, req.format, req.filters, req.retentionSeconds);
    return req;
}

namespace {

std::string asciiLower(std::string s)
{
    for (char& c : s)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// Canonical form of one validated filter value, decided by its shape (the
// shapes of the four filter types do not overlap).
Json::Value canonicalFilter(const Json::Value& v)
{
    if (v.isString() || v.isArray()) {
        std::vector<std::string> values;
        if (v.isString())
            values.push_back(v.asString());
        else
            for (const auto& item : v)
                values.push_back(item.asString());
        std::sort(values.begin(), values.end());
        values.erase(std::unique(values.begin(), values.end()), values.end());
        Json::Value out(Json::arrayValue);
        for (const auto& s : values)
            out.append(s);
        return out;
    }
    if (v.isIntegral()) {
        Json::Value out(Json::objectValue);
        out["min"] = Json::Int64(v.asInt64());
        out["max"] = Json::Int64(v.asInt64());
        return out;
    }
    if (!v.isObject())
        return v;
    Json::Value out(Json::objectValue);
    if (v.isMember("contains"))
        out["contains"] = asciiLower(v["contains"].asString()); // the match ignores ASCII case
    for (const char* key : {"min", "max"})
        if (v.isMember(key) && v[key].isIntegral())
            out[key] = Json::Int64(v[key].asInt64());
    for (const char* key : {"from", "to"}) {
        if (!v.isMember(key))
            continue;
        auto bound = parseDateBound(v[key].asString());
        // A date-only `from` is that day's midnight UTC; a date-only `to` means the whole day.
        out[key] = bound ? canonicalDateBound(*bound, key[0] == 't') : v[key];
    }
    return out;
}

} // namespace

std::string canonicalKey(const std::string& dataset, const std::string& format, const Json::Value& filters,
                         std::int64_t retentionSeconds)
{
    Json::Value key(Json::objectValue);
    key["dataset"] = dataset;
    key["format"] = format.empty() ? "csv" : format;
    key["retention_seconds"] = Json::Int64(retentionSeconds);
    Json::Value canonical(Json::objectValue);
    if (filters.isObject())
        for (auto it = filters.begin(); it != filters.end(); ++it)
            canonical[it.name()] = canonicalFilter(*it);
    key["filters"] = canonical;
    return compactJson(key);
}

std::string filterKeys(const Json::Value& filters)
{
    std::string keys;
    if (filters.isObject())
        for (const auto& name : filters.getMemberNames())
            keys += (keys.empty() ? "" : ",") + name;
    return keys.empty() ? "-" : keys;
}

} // namespace exportd
