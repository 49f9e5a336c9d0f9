#include "FilterArgs.h"

#include "CtlError.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace exportd::ctl {

namespace {

bool parseInteger(const std::string& text, Json::Int64& out)
{
    if (text.empty())
        return false;
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (*end != '\0' || errno == ERANGE || std::isspace(static_cast<unsigned char>(text[0])))
        return false;
    out = v;
    return true;
}

// "a,b\,c" -> ["a", "b,c"]
std::vector<std::string> splitList(const std::string& text)
{
    std::vector<std::string> items(1);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == ',' || text[i + 1] == '\\'))
            items.back() += text[++i];
        else if (text[i] == ',')
            items.emplace_back();
        else
            items.back() += text[i];
    }
    return items;
}

std::string join(const std::vector<std::string>& v)
{
    std::string out;
    for (const auto& s : v)
        out += (out.empty() ? "" : ", ") + s;
    return out;
}

Json::Value oneOrMany(const std::string& expr, const std::string& value, const FilterField* field)
{
    const auto items = splitList(value);
    Json::Value list(Json::arrayValue);
    for (const auto& item : items) {
        if (item.empty())
            throw usageError("--filter " + expr + ": empty value in the list");
        if (field && field->type == "enum" && !field->values.empty()) {
            bool declared = false;
            for (const auto& v : field->values)
                declared = declared || v == item;
            if (!declared)
                throw usageError("--filter " + expr + ": '" + item + "' is not one of " + join(field->values));
        }
        list.append(item);
    }
    return list.size() == 1 ? list[0] : list;
}

Json::Value range(const std::string& expr, const std::string& value, bool integer)
{
    const auto dots = value.find("..");
    const std::string lo = value.substr(0, dots), hi = value.substr(dots + 2);
    if (lo.empty() && hi.empty())
        throw usageError("--filter " + expr + ": a range needs at least one side");
    Json::Value out(Json::objectValue);
    const char* loKey = integer ? "min" : "from";
    const char* hiKey = integer ? "max" : "to";
    for (const auto& [key, text] : {std::make_pair(loKey, lo), std::make_pair(hiKey, hi)}) {
        if (text.empty())
            continue;
        Json::Int64 n = 0;
        if (!integer)
            out[key] = text;
        else if (parseInteger(text, n))
            out[key] = n;
        else
            throw usageError("--filter " + expr + ": '" + text + "' is not a whole number");
    }
    return out;
}

Json::Value guessed(const std::string& expr, const std::string& value)
{
    Json::Int64 n = 0;
    if (value.find("..") != std::string::npos) {
        const auto dots = value.find("..");
        Json::Int64 ignored = 0;
        const std::string lo = value.substr(0, dots), hi = value.substr(dots + 2);
        const bool numeric = (lo.empty() || parseInteger(lo, ignored)) && (hi.empty() || parseInteger(hi, ignored));
        return range(expr, value, numeric);
    }
    if (parseInteger(value, n))
        return Json::Value(n);
    return oneOrMany(expr, value, nullptr);
}

} // namespace

FilterFields filterFieldsOf(const Json::Value& datasets, const std::string& dataset, bool* found)
{
    FilterFields fields;
    *found = false;
    const Json::Value& list = datasets["datasets"];
    if (!list.isArray())
        return fields;
    for (const auto& ds : list) {
        if (!ds.isObject() || ds["name"].asString() != dataset)
            continue;
        *found = true;
        for (const auto& f : ds["filters"]) {
            if (!f.isObject() || !f["field"].isString())
                continue;
            FilterField field;
            field.type = f["type"].asString();
            for (const auto& v : f["values"])
                if (v.isString())
                    field.values.push_back(v.asString());
            fields[f["field"].asString()] = field;
        }
    }
    return fields;
}

Json::Value parseFilters(const std::vector<std::string>& expressions, const FilterFields& fields, bool known)
{
    Json::Value filters(Json::objectValue);
    for (const auto& expr : expressions) {
        const auto op = expr.find_first_of("=~");
        if (op == std::string::npos || op == 0)
            throw usageError("--filter " + expr + ": expected FIELD=VALUE or FIELD~TEXT");
        const std::string name = expr.substr(0, op), value = expr.substr(op + 1);
        if (value.empty())
            throw usageError("--filter " + expr + ": empty value");
        if (filters.isMember(name))
            throw usageError("--filter " + expr + ": " + name + " is filtered twice (list values with commas)");

        const FilterField* field = nullptr;
        if (known) {
            const auto it = fields.find(name);
            if (it == fields.end()) {
                std::vector<std::string> names;
                for (const auto& [n, f] : fields)
                    names.push_back(n);
                throw usageError("--filter " + expr + ": '" + name + "' is not a filter of this dataset" +
                                 (names.empty() ? std::string(" (it has none)") : " (filters: " + join(names) + ")"));
            }
            field = &it->second;
        }
        const std::string type = field ? field->type : "";

        if (expr[op] == '~') {
            if (field && type != "string")
                throw usageError("--filter " + expr + ": '~' (contains) works on string fields; " + name + " is " +
                                 type);
            Json::Value contains(Json::objectValue);
            contains["contains"] = value;
            filters[name] = contains;
        } else if (type == "date") {
            if (value.find("..") != std::string::npos) {
                filters[name] = range(expr, value, false);
            } else {
                Json::Value day(Json::objectValue);
                day["from"] = value;
                day["to"] = value;
                filters[name] = day;
            }
        } else if (type == "integer") {
            Json::Int64 n = 0;
            if (value.find("..") != std::string::npos)
                filters[name] = range(expr, value, true);
            else if (parseInteger(value, n))
                filters[name] = n;
            else
                throw usageError("--filter " + expr + ": '" + value + "' is not a whole number or a range A..B");
        } else if (type == "enum" || type == "string") {
            filters[name] = oneOrMany(expr, value, field);
        } else {
            filters[name] = guessed(expr, value);
        }
    }
    return filters;
}

} // namespace exportd::ctl
