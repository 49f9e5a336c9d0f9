// libFuzzer target: the filter-to-SQL builder (buildQuery).
//
// The input is a `filters` object. For each dataset of the fuzz catalog it is
// validated and built; every query that builds must prepare in SQLite, take
// exactly as many parameters as it declares, run, and select exactly the rows
// that an independent C++ reading of docs/api.md, Filters selects from the same small
// table (equality on bytes, `contains` as an ASCII case-insensitive literal
// substring in which % _ \ are plain characters, inclusive integer ranges,
// date bounds as instants). A value that changed the SQL's meaning (injection,
// a LIKE metacharacter let through, a bound off by one) shows up as a
// different row set; a malformed statement as a prepare error.

#include "FuzzSupport.h"

#include "export/ExportRequest.h"
#include "export/SqlBuilder.h"
#include "export/FilterSpec.h"
#include "export/JsonText.h"
#include "export/RequestError.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace exportd;

namespace {

struct Value {
    enum class Type { Null, Int, Text } type = Type::Null;
    std::int64_t i = 0;
    std::string s;
};
Value txt(std::string s) { return {Value::Type::Text, 0, std::move(s)}; }
Value num(std::int64_t i) { return {Value::Type::Int, i, {}}; }
const Value NUL_VALUE{};

using Row = std::map<std::string, Value>;

struct Table {
    std::string dataset;
    std::string name;
    std::vector<std::pair<std::string, std::string>> columns; // name, SQL type
    std::vector<Row> rows;
};

// Epoch seconds of "YYYY-MM-DDTHH:MM:SSZ", computed with libc, not the app's code.
std::int64_t isoSeconds(const std::string& text)
{
    std::tm tm{};
    int y = 0;
    if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%dZ", &y, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                    &tm.tm_sec) != 6)
        fuzz::fail("bad fixture date " + text);
    tm.tm_year = y - 1900;
    tm.tm_mon -= 1;
    return static_cast<std::int64_t>(::timegm(&tm));
}

std::vector<Table> makeTables()
{
    const char* labels[] = {"100%", "100 percent", "a_b", "axb", "ab", "back\\slash", "backslash", "O'Brien",
                            "say \"hi\"", "=SUM(A1:A9)", "DE' OR '1'='1", "' OR 1=1 --", "%", "_", "MiXeD CaSe",
                            "Robert'); DROP TABLE t;--", "tab\there", "line\nbreak", "\xc3\x9c" "n" "\xc3\xaf" "c" "\xc3\xb6" "d" "\xc3\xa9",
                            "\xc3\xbc" "N" "\xc3\x8f" "C" "\xc3\x96" "D" "\xc3\x89", "\xe6\x97\xa5\xe6\x9c\xac", "", " ", "\\%", "a\\_b"};
    const char* kinds[] = {"a", "b", "O'Brien", "x\"y", "100%", "_", "A", "c"};
    const char* times[] = {"2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", "2024-02-29T12:00:00Z",
                           "2024-12-31T23:59:59Z", "2025-01-01T00:00:00Z", "2025-06-30T23:59:59Z",
                           "2025-07-01T00:00:00Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
                           "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-11-29T11:46:25Z",
                           "2026-03-29T01:30:00Z", "0999-12-31T23:59:59Z", "1000-01-01T00:00:00Z"};
    const std::int64_t amounts[] = {0, -1, 1, 5, 42, 1000, 50000, INT64_MAX, INT64_MIN, 7, -50000, 999};

    Table events{"events", "t",
                 {{"id", "INTEGER"}, {"kind", "TEXT"}, {"label", "TEXT"}, {"we\"ird col", "TEXT"},
                  {"created_at", "TEXT"}, {"ts", "INTEGER"}, {"amount", "INTEGER"}},
                 {}};
    const std::size_t nLabels = sizeof labels / sizeof *labels;
    for (std::size_t i = 0; i < nLabels + 3; ++i) {
        Row r;
        r["id"] = num(static_cast<std::int64_t>(i + 1));
        if (i < nLabels) {
            const std::string time = times[i % (sizeof times / sizeof *times)];
            r["kind"] = txt(kinds[i % (sizeof kinds / sizeof *kinds)]);
            r["label"] = txt(labels[i]);
            r["we\"ird col"] = txt(labels[(i * 7 + 3) % nLabels]);
            r["created_at"] = txt(time);
            r["ts"] = num(isoSeconds(times[(i * 5 + 2) % (sizeof times / sizeof *times)]));
            r["amount"] = num(amounts[i % (sizeof amounts / sizeof *amounts)]);
        } else if (i == nLabels) { // digits in text columns; no dates
            r["kind"] = txt("1");
            r["label"] = txt("100");
            r["amount"] = num(42);
        } // else: NULL in every column but id
        events.rows.push_back(std::move(r));
    }

    Table orders{"orders", "orders",
                 {{"id", "INTEGER"}, {"created_at", "TEXT"}, {"customer_email", "TEXT"}, {"customer_name", "TEXT"},
                  {"country", "TEXT"}, {"status", "TEXT"}, {"total_cents", "INTEGER"}, {"currency", "TEXT"}},
                 {}};
    const char* statuses[] = {"pending", "paid", "shipped", "refunded", "cancelled"};
    const char* countries[] = {"DE", "FR", "de", "DE ", "D'E", "US"};
    for (std::size_t i = 0; i < nLabels; ++i) {
        Row r;
        r["id"] = num(static_cast<std::int64_t>(i + 1));
        r["created_at"] = txt(times[(i * 3) % (sizeof times / sizeof *times)]);
        r["customer_email"] = txt(std::string(labels[i]) + "@example.org");
        r["customer_name"] = txt(labels[(i + 5) % nLabels]);
        r["country"] = txt(countries[i % (sizeof countries / sizeof *countries)]);
        r["status"] = txt(statuses[i % 5]);
        r["total_cents"] = num(amounts[(i * 5) % (sizeof amounts / sizeof *amounts)]);
        r["currency"] = txt("EUR");
        orders.rows.push_back(std::move(r));
    }
    return {events, orders};
}

void exec(sqlite3* db, const std::string& sql)
{
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK)
        fuzz::fail("fixture: " + sql + ": " + (err ? err : "?"));
}

void bindValue(sqlite3_stmt* st, int index, const Value& v)
{
    int rc = SQLITE_OK;
    switch (v.type) {
    case Value::Type::Null: rc = sqlite3_bind_null(st, index); break;
    case Value::Type::Int: rc = sqlite3_bind_int64(st, index, v.i); break;
    case Value::Type::Text:
        rc = sqlite3_bind_text(st, index, v.s.data(), static_cast<int>(v.s.size()), SQLITE_TRANSIENT);
        break;
    }
    FUZZ_CHECK(rc == SQLITE_OK, "fixture bind");
}

struct Fixture {
    sqlite3* db = nullptr;
    std::vector<Table> tables;

    Fixture() : tables(makeTables())
    {
        FUZZ_CHECK(sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) == SQLITE_OK,
                   "open");
        for (const auto& t : tables) {
            std::string create = "CREATE TABLE " + quoteIdentifier(t.name) + " (";
            std::string insert = "INSERT INTO " + quoteIdentifier(t.name) + " VALUES (";
            for (std::size_t i = 0; i < t.columns.size(); ++i) {
                create += (i ? ", " : "") + quoteIdentifier(t.columns[i].first) + " " + t.columns[i].second;
                insert += i ? ", ?" : "?";
            }
            exec(db, create + ")");
            sqlite3_stmt* st = nullptr;
            FUZZ_CHECK(sqlite3_prepare_v2(db, (insert + ")").c_str(), -1, &st, nullptr) == SQLITE_OK, "insert");
            for (const auto& row : t.rows) {
                sqlite3_reset(st);
                for (std::size_t i = 0; i < t.columns.size(); ++i) {
                    auto it = row.find(t.columns[i].first);
                    bindValue(st, static_cast<int>(i + 1), it == row.end() ? NUL_VALUE : it->second);
                }
                FUZZ_CHECK(sqlite3_step(st) == SQLITE_DONE, "insert step");
            }
            sqlite3_finalize(st);
        }
    }
    ~Fixture() { sqlite3_close_v2(db); }
};

Fixture& fixture()
{
    static Fixture f;
    return f;
}

std::string asciiLower(std::string s)
{
    for (char& c : s)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// Seconds of a stored date cell, or nullopt when it is no date of its storage.
std::optional<std::int64_t> storedSeconds(const FilterDef& def, const Value& v)
{
    if (def.dateStorage == DateStorage::Timestamp)
        return v.type == Value::Type::Int ? std::optional<std::int64_t>(v.i) : std::nullopt;
    if (v.type != Value::Type::Text || v.s.size() != 20 || v.s[4] != '-')
        return std::nullopt;
    return isoSeconds(v.s);
}

// The documented meaning (docs/api.md, Filters) of one filter on one row.
bool matches(const FilterSpec& spec, const Row& row)
{
    auto it = row.find(spec.def->field);
    const Value& v = it == row.end() ? NUL_VALUE : it->second;
    switch (spec.kind) {
    case FilterSpec::Kind::AnyOf:
        return v.type == Value::Type::Text && std::find(spec.values.begin(), spec.values.end(), v.s) != spec.values.end();
    case FilterSpec::Kind::Contains:
        return v.type == Value::Type::Text && asciiLower(v.s).find(asciiLower(spec.contains)) != std::string::npos;
    case FilterSpec::Kind::IntegerRange:
        return v.type == Value::Type::Int && (!spec.min || v.i >= *spec.min) && (!spec.max || v.i <= *spec.max);
    case FilterSpec::Kind::DateRange: {
        const auto sec = storedSeconds(*spec.def, v);
        if (!sec)
            return false;
        // Instants: the stored value has whole seconds; a bound may have a fraction.
        if (spec.from && !(*sec > spec.from->seconds || (*sec == spec.from->seconds && spec.from->nanos == 0)))
            return false;
        if (spec.to) {
            if (spec.to->dateOnly ? *sec >= spec.to->seconds + 86400 : *sec > spec.to->seconds)
                return false;
        }
        return true;
    }
    }
    return false;
}

std::set<std::int64_t> expectedIds(const Table& table, const std::vector<FilterSpec>& specs)
{
    std::set<std::int64_t> ids;
    for (const auto& row : table.rows) {
        bool all = true;
        for (const auto& spec : specs)
            all = all && matches(spec, row);
        if (all)
            ids.insert(row.at("id").i);
    }
    return ids;
}

sqlite3_stmt* prepareBound(sqlite3* db, const std::string& sql, const std::vector<SqlParam>& params)
{
    sqlite3_stmt* st = nullptr;
    const char* tail = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &st, &tail) != SQLITE_OK)
        fuzz::fail("prepare failed: " + std::string(sqlite3_errmsg(db)) + " in " + sql);
    FUZZ_CHECK(tail && *tail == '\0', "trailing SQL after the statement: " + sql);
    FUZZ_CHECK(sqlite3_stmt_readonly(st), "not read-only: " + sql);
    FUZZ_CHECK(sqlite3_bind_parameter_count(st) == static_cast<int>(params.size()),
               "parameter count " + std::to_string(sqlite3_bind_parameter_count(st)) + " != "
                   + std::to_string(params.size()) + " in " + sql);
    for (std::size_t i = 0; i < params.size(); ++i) {
        int rc;
        if (const auto* n = std::get_if<std::int64_t>(&params[i]))
            rc = sqlite3_bind_int64(st, static_cast<int>(i + 1), *n);
        else {
            const auto& s = std::get<std::string>(params[i]);
            rc = sqlite3_bind_text(st, static_cast<int>(i + 1), s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
        }
        FUZZ_CHECK(rc == SQLITE_OK, "bind " + std::to_string(i + 1));
    }
    return st;
}

void checkDataset(const Dataset& dataset, const Table& table, const Json::Value& filters)
{
    SqlQuery q;
    std::vector<FilterSpec> specs;
    try {
        q = buildQuery(dataset, filters);
        specs = parseFilters(dataset, filters);
    } catch (const RequestError& e) {
        FUZZ_CHECK(e.status() == 400 && e.code() == "invalid_request" && !e.field().empty(), e.code());
        return;
    }
    sqlite3* db = fixture().db;

    // Where a dataset is a table, point the built SQL at the fixture's table.
    sqlite3_stmt* st = prepareBound(db, q.select, q.params);
    std::set<std::int64_t> got;
    std::size_t rows = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        FUZZ_CHECK(sqlite3_column_count(st) == static_cast<int>(dataset.columns.size()), "column count");
        got.insert(sqlite3_column_int64(st, 0));
        ++rows;
    }
    sqlite3_finalize(st);
    FUZZ_CHECK(rc == SQLITE_DONE, "step: " + std::string(sqlite3_errmsg(db)));

    st = prepareBound(db, q.count, q.params);
    FUZZ_CHECK(sqlite3_step(st) == SQLITE_ROW, "count step");
    const std::int64_t counted = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    FUZZ_CHECK(counted == static_cast<std::int64_t>(rows), "COUNT(*) differs from the rows selected: " + q.count);

    const std::set<std::int64_t> expected = expectedIds(table, specs);
    if (got != expected) {
        std::string detail = "SQL " + q.select + " | filters " + compactJson(filters) + " | got";
        for (auto id : got)
            detail += " " + std::to_string(id);
        detail += " | expected";
        for (auto id : expected)
            detail += " " + std::to_string(id);
        fuzz::fail("rows differ from the documented meaning: " + detail);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string text(reinterpret_cast<const char*>(data), size);
    Json::Value filters;
    std::string error;
    if (!parseStrictJson(text, filters, error))
        return 0;
    const DatasetCatalog& catalog = fuzz::fuzzCatalog();
    for (const auto& table : fixture().tables) {
        const Dataset* dataset = catalog.find(table.dataset);
        FUZZ_CHECK(dataset != nullptr, table.dataset);
        checkDataset(*dataset, table, filters);
    }
    return 0;
}
