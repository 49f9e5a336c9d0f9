#include "export/Dataset.h"

#include "export/SqlBuilder.h"
#include "export/JsonText.h"
#include "export/ConfigError.h"
#include "export/SqliteHandles.h"
#include "export/PgSource.h"

#include <Poco/Path.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

namespace exportd {

const FilterDef* Dataset::filter(const std::string& field) const
{
    for (const auto& f : filters)
        if (f.field == field)
            return &f;
    return nullptr;
}

std::vector<std::string> Dataset::dateColumns() const
{
    std::vector<std::string> out;
    for (const auto& f : filters)
        if (f.type == FilterType::Date)
            out.push_back(f.field);
    return out;
}

bool Dataset::allows(const std::string& owner) const
{
    if (!allowedOwners)
        return true;
    return std::find(allowedOwners->begin(), allowedOwners->end(), owner) != allowedOwners->end();
}

const std::vector<std::string>& supportedFormats()
{
    static const std::vector<std::string> FORMATS{"csv", "ndjson", "xlsx"};
    return FORMATS;
}

std::string contentTypeFor(const std::string& format)
{
    if (format == "csv")
        return "text/csv; charset=utf-8";
    if (format == "ndjson")
        return "application/x-ndjson";
    if (format == "xlsx")
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    return "application/octet-stream";
}

std::string extensionFor(const std::string& format) { return format; }

namespace {

// An object's keys in the order the file declares them: jsoncpp's map sorts
// them, but the reader records where each value starts in the text.
std::vector<std::string> declaredOrder(const Json::Value& object)
{
    std::vector<std::string> names = object.getMemberNames();
    std::stable_sort(names.begin(), names.end(), [&object](const std::string& a, const std::string& b) {
        return object[a].getOffsetStart() < object[b].getOffsetStart();
    });
    return names;
}

[[noreturn]] void fail(const std::string& path, const std::string& message)
{
    throw ConfigError(path + ": " + message);
}

void rejectUnknownKeys(const Json::Value& obj, const std::string& path, const std::set<std::string>& known)
{
    for (const auto& key : obj.getMemberNames())
        if (!known.count(key))
            fail(path.empty() ? key : path + "." + key, "unknown key");
}

std::string requireString(const Json::Value& v, const std::string& path, bool allowEmpty = false)
{
    if (!v.isString())
        fail(path, "must be a string");
    std::string s = v.asString();
    if (!allowEmpty && s.empty())
        fail(path, "must not be empty");
    return s;
}

std::vector<std::string> requireStringArray(const Json::Value& v, const std::string& path, bool allowEmpty)
{
    if (!v.isArray())
        fail(path, "must be an array of strings");
    if (!allowEmpty && v.empty())
        fail(path, "must not be empty");
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (Json::ArrayIndex i = 0; i < v.size(); ++i) {
        std::string item = requireString(v[i], path + "[" + std::to_string(i) + "]");
        if (!seen.insert(item).second)
            fail(path + "[" + std::to_string(i) + "]", "duplicate value \"" + item + "\"");
        out.push_back(item);
    }
    return out;
}

bool iequals(const std::string& a, const std::string& b)
{
    return a.size() == b.size()
        && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// Dataset names end up in file names and Content-Disposition headers.
bool isSafeName(const std::string& name)
{
    if (name.empty() || name.size() > 64)
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
}

std::vector<OrderTerm> parseOrderBy(const std::string& text, const std::string& path)
{
    std::vector<OrderTerm> terms;
    std::stringstream list(text);
    std::string item;
    while (std::getline(list, item, ',')) {
        std::istringstream words(item);
        std::string column, direction, extra;
        words >> column >> direction >> extra;
        if (column.empty() || !extra.empty())
            fail(path, "must be a comma-separated list of columns, each optionally followed by ASC or DESC");
        OrderTerm term{column, false};
        if (!direction.empty()) {
            if (iequals(direction, "desc"))
                term.descending = true;
            else if (!iequals(direction, "asc"))
                fail(path, "\"" + direction + "\" must be ASC or DESC");
        }
        terms.push_back(term);
    }
    if (terms.empty())
        fail(path, "must name at least one column");
    return terms;
}

bool startsWithSelect(const std::string& query)
{
    std::size_t i = 0;
    while (i < query.size() && std::isspace(static_cast<unsigned char>(query[i])))
        ++i;
    std::string word;
    while (i < query.size() && std::isalpha(static_cast<unsigned char>(query[i])))
        word += static_cast<char>(std::tolower(static_cast<unsigned char>(query[i++])));
    return word == "select" || word == "with";
}

FilterDef parseFilter(const std::string& field, const Json::Value& v, const std::string& path)
{
    if (!v.isObject())
        fail(path, "must be an object");
    rejectUnknownKeys(v, path, {"type", "values", "date_storage"});
    FilterDef def;
    def.field = field;
    std::string type = requireString(v["type"], path + ".type");
    if (type == "enum")
        def.type = FilterType::Enum;
    else if (type == "string")
        def.type = FilterType::String;
    else if (type == "date")
        def.type = FilterType::Date;
    else if (type == "integer")
        def.type = FilterType::Integer;
    else
        fail(path + ".type", "must be one of enum, string, date, integer");

    if (def.type == FilterType::Enum) {
        if (!v.isMember("values"))
            fail(path + ".values", "is required for an enum filter");
        def.values = requireStringArray(v["values"], path + ".values", false);
    } else if (v.isMember("values")) {
        fail(path + ".values", "is only allowed for an enum filter");
    }
    if (v.isMember("date_storage")) {
        if (def.type != FilterType::Date)
            fail(path + ".date_storage", "is only allowed for a date filter");
        std::string storage = requireString(v["date_storage"], path + ".date_storage");
        if (storage == "iso8601-utc-text")
            def.dateStorage = DateStorage::Iso8601UtcText;
        else if (storage == "timestamp")
            def.dateStorage = DateStorage::Timestamp;
        else
            fail(path + ".date_storage", "must be one of iso8601-utc-text, timestamp");
    }
    return def;
}

Dataset parseDataset(const std::string& name, const Json::Value& v, const std::string& path,
                     const std::string& baseDir)
{
    if (!isSafeName(name))
        fail(path, "a dataset name must be 1 to 64 letters, digits, '_' or '-'");
    if (!v.isObject())
        fail(path, "must be an object");
    rejectUnknownKeys(v, path,
                      {"title", "source", "table", "query", "columns", "order_by", "filters",
                       "csv_formula_guard", "allowed_owners", "statement_timeout_ms"});
    Dataset ds;
    ds.name = name;
    ds.title = v.isMember("title") ? requireString(v["title"], path + ".title") : name;

    if (!v.isMember("source"))
        fail(path + ".source", "is required");
    std::string source = requireString(v["source"], path + ".source");
    static const std::string SCHEME = "sqlite:";
    if (isPostgresUri(source)) {
        ds.sourceKind = SourceKind::PostgreSQL;
        ds.sourceUri = source;
        ds.sourceLabel = describePostgresSource(source);
        if (ds.sourceLabel.empty())
            fail(path + ".source", "is not a valid PostgreSQL URI (postgresql://[user@]host[:port]/dbname[?...])");
    } else if (source.compare(0, SCHEME.size(), SCHEME) == 0 && source.size() > SCHEME.size()) {
        std::string file = source.substr(SCHEME.size());
        Poco::Path p(file);
        if (p.isRelative() && !baseDir.empty())
            p = Poco::Path(Poco::Path(baseDir).makeDirectory(), file);
        ds.sourcePath = p.toString();
        ds.sourceLabel = ds.sourcePath;
    } else {
        fail(path + ".source", "must be \"sqlite:<path>\" or \"postgresql://...\"");
    }
    if (v.isMember("statement_timeout_ms")) {
        const Json::Value& t = v["statement_timeout_ms"];
        if (ds.sourceKind != SourceKind::PostgreSQL)
            fail(path + ".statement_timeout_ms", "is only allowed for a PostgreSQL source");
        if (!t.isIntegral() || t.asLargestInt() < 0 || t.asLargestInt() > INT32_MAX)
            fail(path + ".statement_timeout_ms", "must be a whole number of milliseconds, 0 (the server's) or more");
        ds.statementTimeoutMs = t.asLargestInt();
    }

    bool hasTable = v.isMember("table"), hasQuery = v.isMember("query");
    if (hasTable == hasQuery)
        fail(path, "exactly one of \"table\" and \"query\" is required");
    if (hasTable) {
        ds.table = requireString(v["table"], path + ".table");
    } else {
        ds.query = requireString(v["query"], path + ".query");
        if (!startsWithSelect(ds.query))
            fail(path + ".query", "must be a single read-only SELECT statement");
        if (ds.query.find(';') != std::string::npos)
            fail(path + ".query", "must be a single SELECT statement, without ';'");
    }

    if (!v.isMember("columns"))
        fail(path + ".columns", "is required");
    ds.columns = requireStringArray(v["columns"], path + ".columns", false);

    if (v.isMember("order_by")) {
        const Json::Value& ob = v["order_by"];
        std::string text;
        if (ob.isArray()) {
            for (const auto& item : requireStringArray(ob, path + ".order_by", false))
                text += (text.empty() ? "" : ", ") + item;
        } else {
            text = requireString(ob, path + ".order_by");
        }
        ds.orderTerms = parseOrderBy(text, path + ".order_by");
        for (const auto& t : ds.orderTerms)
            ds.orderBy += (ds.orderBy.empty() ? "" : ", ") + t.column + (t.descending ? " DESC" : "");
    }

    if (v.isMember("filters")) {
        const Json::Value& filters = v["filters"];
        if (!filters.isObject())
            fail(path + ".filters", "must be an object");
        for (const auto& field : declaredOrder(filters)) {
            if (field.empty())
                fail(path + ".filters", "a filter needs a column name");
            ds.filters.push_back(parseFilter(field, filters[field], path + ".filters." + field));
            // PostgreSQL has date types: a date filter is native unless it says it is text.
            if (ds.sourceKind == SourceKind::PostgreSQL && !filters[field].isMember("date_storage"))
                ds.filters.back().dateStorage = DateStorage::Timestamp;
        }
    }

    if (v.isMember("csv_formula_guard")) {
        if (!v["csv_formula_guard"].isBool())
            fail(path + ".csv_formula_guard", "must be true or false");
        ds.csvFormulaGuard = v["csv_formula_guard"].asBool();
    }
    if (v.isMember("allowed_owners"))
        ds.allowedOwners = requireStringArray(v["allowed_owners"], path + ".allowed_owners", true);
    return ds;
}

void checkSqliteSource(const Dataset& ds)
{
    const std::string path = "datasets." + ds.name;
    SqliteConnection h;
    if (sqlite3_open_v2(ds.sourcePath.c_str(), &h.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr)
        != SQLITE_OK)
        fail(path + ".source", "cannot open " + ds.sourcePath + " read-only: "
                 + (h.db ? sqlite3_errmsg(h.db) : "out of memory"));
    sqlite3_busy_timeout(h.db, 5000);

    std::string sql = ds.table.empty() ? ds.query : "SELECT * FROM " + quoteIdentifier(ds.table);
    SqliteStatement s;
    const char* tail = nullptr;
    if (sqlite3_prepare_v2(h.db, sql.c_str(), static_cast<int>(sql.size()), &s.stmt, &tail) != SQLITE_OK)
        fail(path + (ds.table.empty() ? ".query" : ".table"), sqlite3_errmsg(h.db));
    if (!s.stmt)
        fail(path + ".query", "is empty");
    if (!ds.query.empty()) {
        for (; tail && *tail; ++tail)
            if (!std::isspace(static_cast<unsigned char>(*tail)))
                fail(path + ".query", "must be a single SELECT statement");
        if (!sqlite3_stmt_readonly(s.stmt))
            fail(path + ".query", "must be a read-only SELECT statement");
    }
    std::vector<std::string> available;
    for (int i = 0; i < sqlite3_column_count(s.stmt); ++i)
        available.emplace_back(sqlite3_column_name(s.stmt, i));
    auto exists = [&](const std::string& c) {
        return std::any_of(available.begin(), available.end(), [&](const std::string& a) { return iequals(a, c); });
    };
    const std::string where = ds.table.empty() ? "the query's result" : "table \"" + ds.table + "\"";
    for (std::size_t i = 0; i < ds.columns.size(); ++i)
        if (!exists(ds.columns[i]))
            fail(path + ".columns[" + std::to_string(i) + "]", "no column \"" + ds.columns[i] + "\" in " + where);
    for (const auto& f : ds.filters)
        if (!exists(f.field))
            fail(path + ".filters." + f.field, "no column \"" + f.field + "\" in " + where);
    for (const auto& t : ds.orderTerms)
        if (!exists(t.column))
            fail(path + ".order_by", "no column \"" + t.column + "\" in " + where);
}

} // namespace

DatasetCatalog DatasetCatalog::loadFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ConfigError("datasets_file: cannot read " + path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return loadString(buffer.str(), path);
}

DatasetCatalog DatasetCatalog::loadString(const std::string& json, const std::string& origin)
{
    Json::Value root;
    std::string error;
    if (!parseStrictJson(json, root, error))
        throw ConfigError("datasets_file " + origin + ": " + error);
    rejectUnknownKeys(root, "", {"datasets"});
    const Json::Value& datasets = root["datasets"];
    if (!datasets.isObject())
        fail("datasets", "must be an object of datasets by name");
    if (datasets.empty())
        fail("datasets", "must declare at least one dataset");
    std::string baseDir = origin.empty() ? "" : Poco::Path(origin).parent().toString();
    DatasetCatalog catalog;
    for (const auto& name : declaredOrder(datasets))
        catalog._datasets.push_back(parseDataset(name, datasets[name], "datasets." + name, baseDir));
    return catalog;
}

void DatasetCatalog::checkSources() const
{
    for (const auto& ds : _datasets) {
        if (ds.sourceKind == SourceKind::PostgreSQL)
            checkPgSource(ds);
        else
            checkSqliteSource(ds);
    }
}

const Dataset* DatasetCatalog::find(const std::string& name) const
{
    for (const auto& ds : _datasets)
        if (ds.name == name)
            return &ds;
    return nullptr;
}

} // namespace exportd
