#include "export/FilterSpec.h"

#include "export/RequestError.h"

#include <algorithm>
#include <limits>

namespace exportd {

namespace detail {

[[noreturn]] void invalid(const std::string& field, const std::string& message)
{
    throw RequestError(400, "invalid_request", message, field);
}

std::string describeType(const Json::Value& v)
{
    switch (v.type()) {
    case Json::nullValue: return "null";
    case Json::intValue:
    case Json::uintValue: return "an integer";
    case Json::realValue: return "a number with a fraction or exponent";
    case Json::stringValue: return "a string";
    case Json::booleanValue: return "a boolean";
    case Json::arrayValue: return "an array";
    case Json::objectValue: return "an object";
    }
    return "a value";
}

std::string requireString(const Json::Value& v, const std::string& field, const std::string& what)
{
    if (!v.isString())
        invalid(field, "The " + what + " must be a string, not " + describeType(v) + ".");
    return v.asString();
}

} // namespace detail

using detail::describeType;
using detail::invalid;
using detail::requireString;

namespace {



// A JSON integer (not a float, not a string) that fits in int64.
std::int64_t requireInteger(const Json::Value& v, const std::string& field, const std::string& what)
{
    if (v.type() == Json::intValue)
        return v.asInt64();
    if (v.type() == Json::uintValue) {
        if (v.asUInt64() <= static_cast<Json::UInt64>(std::numeric_limits<std::int64_t>::max()))
            return v.asInt64();
        invalid(field, "The " + what + " is too large; it must fit in a signed 64-bit integer.");
    }
    if (v.type() == Json::realValue)
        invalid(field, "The " + what + " must be a whole number written without a fraction or exponent, "
                       "within the signed 64-bit range.");
    invalid(field, "The " + what + " must be an integer, not " + describeType(v) + ".");
}


void checkEnumValue(const FilterDef& def, const std::string& value, const std::string& field)
{
    if (def.type != FilterType::Enum)
        return;
    if (std::find(def.values.begin(), def.values.end(), value) == def.values.end()) {
        std::string list;
        for (const auto& allowed : def.values)
            list += (list.empty() ? "" : ", ") + allowed;
        invalid(field, "Filter \"" + def.field + "\" accepts only these values: " + list + ".");
    }
}

// SQLite's LIKE stops at a NUL ("a\0zz" would match like "a") and PostgreSQL
// refuses NUL in text: no stored text holds one, so a filter text may not either.
void rejectNul(const FilterDef& def, const std::string& value, const std::string& field)
{
    if (value.find('\0') != std::string::npos)
        invalid(field, "The text of filter \"" + def.field + "\" must not contain the NUL character (\\u0000).");
}

// An object filter takes only the keys `a` and `b`, at least one of them; the first other key is named.
void rejectOtherKeys(const FilterDef& def, const Json::Value& v, const std::string& path, const char* a, const char* b)
{
    for (const auto& key : v.getMemberNames())
        if (key != a && key != b)
            invalid(path + "." + key, "Filter \"" + def.field + "\" takes only \"" + a + "\" and \"" + b + "\"; \"" + key
                                          + "\" is not allowed.");
    if (!v.isMember(a) && !v.isMember(b))
        invalid(path, "Filter \"" + def.field + "\" needs \"" + a + "\", \"" + b + "\" or both.");
}

FilterSpec parseStringFilter(const FilterDef& def, const Json::Value& v, const std::string& path)
{
    FilterSpec spec;
    spec.def = &def;
    const bool isEnum = def.type == FilterType::Enum;
    if (v.isString()) {
        checkEnumValue(def, v.asString(), path);
        rejectNul(def, v.asString(), path);
        spec.values.push_back(v.asString());
        return spec;
    }
    if (v.isArray()) {
        if (v.empty())
            invalid(path, "Filter \"" + def.field + "\" needs at least one value in its list.");
        if (v.size() > MAX_FILTER_VALUES)
            invalid(path, "Filter \"" + def.field + "\" may list at most " + std::to_string(MAX_FILTER_VALUES)
                              + " values.");
        for (Json::ArrayIndex i = 0; i < v.size(); ++i) {
            const std::string itemPath = path + "[" + std::to_string(i) + "]";
            std::string value = requireString(v[i], itemPath, "value of filter \"" + def.field + "\"");
            checkEnumValue(def, value, itemPath);
            rejectNul(def, value, itemPath);
            spec.values.push_back(std::move(value));
        }
        std::sort(spec.values.begin(), spec.values.end());
        spec.values.erase(std::unique(spec.values.begin(), spec.values.end()), spec.values.end());
        return spec;
    }
    if (v.isObject() && !isEnum) {
        for (const auto& key : v.getMemberNames())
            if (key != "contains")
                invalid(path + "." + key, "Filter \"" + def.field
                                              + "\" takes a string, a list of strings or {\"contains\": \"text\"}; \""
                                              + key + "\" is not allowed.");
        if (!v.isMember("contains"))
            invalid(path + ".contains", "Filter \"" + def.field + "\" needs \"contains\" with the text to look for.");
        spec.kind = FilterSpec::Kind::Contains;
        spec.contains = requireString(v["contains"], path + ".contains", "\"contains\" text");
        rejectNul(def, spec.contains, path + ".contains");
        if (spec.contains.empty())
            invalid(path + ".contains", "The \"contains\" text of filter \"" + def.field + "\" must not be empty.");
        return spec;
    }
    invalid(path, isEnum ? "Filter \"" + def.field + "\" takes a string or a non-empty list of strings."
                         : "Filter \"" + def.field
                               + "\" takes a string, a non-empty list of strings or {\"contains\": \"text\"}.");
}

FilterSpec parseDateFilter(const FilterDef& def, const Json::Value& v, const std::string& path)
{
    if (!v.isObject())
        invalid(path, "Filter \"" + def.field + "\" takes {\"from\": date, \"to\": date}, either side optional.");
    rejectOtherKeys(def, v, path, "from", "to");
    FilterSpec spec;
    spec.def = &def;
    spec.kind = FilterSpec::Kind::DateRange;
    for (const char* side : {"from", "to"}) {
        if (!v.isMember(side))
            continue;
        const std::string sidePath = path + "." + side;
        std::string text = requireString(v[side], sidePath, std::string("\"") + side + "\" date");
        auto bound = parseDateBound(text);
        if (!bound)
            invalid(sidePath, std::string("The \"") + side + "\" date of filter \"" + def.field
                                  + "\" must be a real calendar date YYYY-MM-DD or an RFC 3339 time such as "
                                    "2026-01-31T12:00:00Z or 2026-01-31T13:00:00+01:00.");
        (side[0] == 'f' ? spec.from : spec.to) = bound;
    }
    if (spec.from && spec.to) {
        // A date-only `to` covers its whole day, so from == to (both dates) is one day.
        const DateBound& f = *spec.from;
        const DateBound& t = *spec.to;
        std::int64_t toEnd = t.dateOnly ? t.seconds + 86400 : t.seconds;
        bool after = t.dateOnly ? f.seconds >= toEnd
                                : (f.seconds > t.seconds || (f.seconds == t.seconds && f.nanos > t.nanos));
        if (after)
            invalid(path + ".from", "The \"from\" date of filter \"" + def.field + "\" is after its \"to\" date.");
    }
    return spec;
}

FilterSpec parseIntegerFilter(const FilterDef& def, const Json::Value& v, const std::string& path)
{
    FilterSpec spec;
    spec.def = &def;
    spec.kind = FilterSpec::Kind::IntegerRange;
    if (v.isObject()) {
        rejectOtherKeys(def, v, path, "min", "max");
        if (v.isMember("min"))
            spec.min = requireInteger(v["min"], path + ".min", "\"min\" of filter \"" + def.field + "\"");
        if (v.isMember("max"))
            spec.max = requireInteger(v["max"], path + ".max", "\"max\" of filter \"" + def.field + "\"");
        if (spec.min && spec.max && *spec.min > *spec.max)
            invalid(path + ".min", "The \"min\" of filter \"" + def.field + "\" is above its \"max\".");
        return spec;
    }
    if (v.isIntegral() || v.type() == Json::realValue) {
        spec.min = spec.max = requireInteger(v, path, "value of filter \"" + def.field + "\"");
        return spec;
    }
    invalid(path, "Filter \"" + def.field + "\" takes an integer or {\"min\": n, \"max\": n}, not " + describeType(v)
                      + ".");
}

} // namespace

std::vector<FilterSpec> parseFilters(const Dataset& dataset, const Json::Value& filters)
{
    if (!filters.isObject())
        invalid("filters", "\"filters\" must be an object of filters by field name, not " + describeType(filters)
                               + ".");
    std::vector<FilterSpec> specs;
    for (auto it = filters.begin(); it != filters.end(); ++it) {
        const std::string name = it.name();
        const std::string path = "filters." + name;
        const FilterDef* def = dataset.filter(name);
        if (!def)
            invalid(path, "Dataset \"" + dataset.name + "\" cannot be filtered by \"" + name + "\".");
        switch (def->type) {
        case FilterType::Enum:
        case FilterType::String: specs.push_back(parseStringFilter(*def, *it, path)); break;
        case FilterType::Date: specs.push_back(parseDateFilter(*def, *it, path)); break;
        case FilterType::Integer: specs.push_back(parseIntegerFilter(*def, *it, path)); break;
        }
    }
    return specs;
}

} // namespace exportd
