#include "export/PgSource.h"

#include "export/ConfigError.h"
#include "export/SqlBuilder.h"

#include "cleanup/postgresql/Connection.h"

#include <algorithm>
#include <memory>
#include <set>

namespace exportd {

namespace pg = cleanup::postgresql;

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& message) { throw ConfigError(path + ": " + message); }

bool oneOf(const std::string& name, std::initializer_list<const char*> names)
{
    return std::any_of(names.begin(), names.end(), [&](const char* n) { return name == n; });
}

} // namespace

void checkPgSource(const Dataset& ds)
{
    const std::string path = "datasets." + ds.name;
    const std::string sourceKey = ds.table.empty() ? ".query" : ".table";
    pg::ConnectOptions options;
    options.connectTimeoutSeconds = 5;
    options.statementTimeoutMs = 10000;
    options.replyTimeoutMs = 15000;
    options.applicationName = "exportd check-config";
    std::unique_ptr<pg::Connection> connection;
    try {
        connection = std::make_unique<pg::Connection>(ds.sourceUri, options);
        connection->exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    } catch (const pg::PgError& e) {
        fail(path + ".source", e.what());
    }
    pg::Connection& conn = *connection;

    std::vector<std::pair<std::string, PgTypeInfo>> available;
    try {
        if (!ds.table.empty()) {
            const pg::Result r = conn.exec("SELECT to_regclass($1) IS NOT NULL", pg::Params::of(quoteTable(ds)));
            if (!r.boolean(0, 0))
                fail(path + ".table", "no table or view \"" + ds.table + "\" in " + ds.sourceLabel);
        }
        available = describePgColumns(conn, ds);
    } catch (const pg::PgError& e) {
        fail(path + sourceKey, e.what());
    }
    const std::string where = ds.table.empty() ? "the query's result" : "table \"" + ds.table + "\"";
    auto typeOf = [&](const std::string& column, const std::string& key) -> const PgTypeInfo& {
        for (const auto& a : available)
            if (a.first == column)
                return a.second;
        fail(key, "no column \"" + column + "\" in " + where);
    };

    std::set<std::string> read;
    for (std::size_t i = 0; i < ds.columns.size(); ++i) {
        const std::string key = path + ".columns[" + std::to_string(i) + "]";
        const PgTypeInfo& t = typeOf(ds.columns[i], key);
        if (kindOf(t) == PgColumnKind::Refused)
            fail(key, "column \"" + ds.columns[i] + "\" has type " + t.name
                          + ", which exportd cannot write; leave it out, or export it through a query"
                            " (e.g. encode(" + ds.columns[i] + ", 'base64'))");
        read.insert(ds.columns[i]);
    }
    for (const auto& t : ds.orderTerms) {
        typeOf(t.column, path + ".order_by");
        read.insert(t.column);
    }
    for (const auto& f : ds.filters) {
        const std::string key = path + ".filters." + f.field;
        const PgTypeInfo& t = typeOf(f.field, key);
        read.insert(f.field);
        const bool text = t.category == 'S';
        const std::string is = "; \"" + f.field + "\" is " + t.name;
        switch (f.type) {
        case FilterType::Date:
            if (f.dateStorage == DateStorage::Iso8601UtcText && !text)
                fail(key, "a date filter with \"date_storage\": \"iso8601-utc-text\" needs a text column" + is);
            if (f.dateStorage == DateStorage::Timestamp && !oneOf(t.name, {"date", "timestamp", "timestamptz"}))
                fail(key, "a date filter needs a date, timestamp or timestamptz column (or a text one with"
                          " \"date_storage\": \"iso8601-utc-text\")" + is);
            break;
        case FilterType::Integer:
            if (!oneOf(t.name, {"int2", "int4", "int8", "numeric", "float4", "float8"}))
                fail(key, "an integer filter needs an integer or numeric column" + is);
            break;
        case FilterType::String:
            if (!text)
                fail(key, "a string filter needs a text column (text, varchar, char)" + is);
            break;
        case FilterType::Enum:
            if (t.typtype == 'e') {
                try {
                    const pg::Result labels = conn.exec("SELECT enumlabel FROM pg_enum WHERE enumtypid = $1::oid",
                                                        pg::Params::of(static_cast<std::int64_t>(t.oid)));
                    std::set<std::string> known;
                    for (int i = 0; i < labels.rows(); ++i)
                        known.insert(labels.text(i, 0));
                    for (const auto& v : f.values)
                        if (!known.count(v))
                            fail(key + ".values", "\"" + v + "\" is not a value of the enum type " + t.name);
                } catch (const pg::PgError& e) {
                    fail(key, e.what());
                }
            } else if (!text) {
                fail(key, "an enum filter needs a text column or a PostgreSQL enum" + is);
            }
            break;
        }
    }

    // Reading them for real (no row) checks the role's privileges, and a
    // query's being read-only, as an export will.
    std::string select = "SELECT ";
    bool first = true;
    for (const auto& c : read) {
        select += (first ? "" : ", ") + quoteIdentifier(c);
        first = false;
    }
    select += (ds.table.empty() ? " FROM (" + ds.query + ") AS src" : " FROM " + quoteTable(ds)) + " LIMIT 0";
    try {
        conn.exec(select);
    } catch (const pg::PgError& e) {
        if (e.sqlState() == "42501")
            fail(path + sourceKey, "the role may not read the columns exportd needs: " + std::string(e.what()));
        if (e.sqlState() == "25006")
            fail(path + ".query", "must be read-only: " + std::string(e.what()));
        fail(path + sourceKey, e.what());
    }
}

} // namespace exportd
