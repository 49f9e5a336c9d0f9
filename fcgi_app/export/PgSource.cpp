#include "export/PgSource.h"

#include "export/DateTime.h"
#include "export/SqlBuilder.h"

#include "cleanup/postgresql/Connection.h"

#include <algorithm>
#include <cstring>
#include <map>

namespace exportd {

namespace pg = cleanup::postgresql;

namespace {

constexpr std::int64_t EPOCH_DAYS_2000 = 10957; // 2000-01-01, PostgreSQL's epoch, in days since 1970-01-01
constexpr std::int64_t MICROS_PER_DAY = 86400LL * 1000000;

template <class T> T bigEndian(const char* p)
{
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
        v = (v << 8) | static_cast<unsigned char>(p[i]);
    return static_cast<T>(v);
}

// A binary integer of PostgreSQL's width T into `cell`; false when the value has another length.
template <class T> bool integerCell(const char* value, std::size_t size, Cell& cell)
{
    if (size != sizeof(T))
        return false;
    cell.type = Cell::Type::Integer;
    cell.integer = bigEndian<T>(value);
    return true;
}

void appendDigits(std::string& out, std::uint64_t value, int width)
{
    char buf[24];
    int n = 0;
    do {
        buf[n++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value > 0);
    for (int i = n; i < width; ++i)
        out += '0';
    while (n > 0)
        out += buf[--n];
}

// "YYYY-MM-DD" of days since 1970-01-01; returns whether the year is BC.
bool appendDay(std::string& out, std::int64_t days)
{
    std::int64_t y;
    unsigned m, d;
    civilFromDays(days, y, m, d);
    const bool bc = y <= 0;
    appendDigits(out, static_cast<std::uint64_t>(bc ? 1 - y : y), 4);
    out += '-';
    appendDigits(out, m, 2);
    out += '-';
    appendDigits(out, d, 2);
    return bc;
}

const std::map<unsigned, PgTypeInfo>& builtinTypes()
{
    // The types whose OIDs are fixed in every PostgreSQL (pg_type.dat): no
    // catalog lookup for a table made only of them.
    static const std::map<unsigned, PgTypeInfo> TYPES = [] {
        std::map<unsigned, PgTypeInfo> t;
        auto add = [&t](unsigned oid, const char* name, char category) { t[oid] = PgTypeInfo{oid, name, category, 'b', ""}; };
        add(16, "bool", 'B');
        add(17, "bytea", 'U');
        add(19, "name", 'S');
        add(20, "int8", 'N');
        add(21, "int2", 'N');
        add(23, "int4", 'N');
        add(25, "text", 'S');
        add(114, "json", 'U');
        add(700, "float4", 'N');
        add(701, "float8", 'N');
        add(1042, "bpchar", 'S');
        add(1043, "varchar", 'S');
        add(1082, "date", 'D');
        add(1114, "timestamp", 'D');
        add(1184, "timestamptz", 'D');
        add(1700, "numeric", 'N');
        add(2950, "uuid", 'U');
        add(3802, "jsonb", 'U');
        return t;
    }();
    return TYPES;
}

std::string containsAny(const std::string& text, std::initializer_list<const char*> needles)
{
    for (const char* n : needles)
        if (text.find(n) != std::string::npos)
            return n;
    return "";
}

} // namespace

PgColumnKind kindOf(const PgTypeInfo& t)
{
    if (t.category == 'A')
        return t.elementName == "bytea" ? PgColumnKind::Refused : PgColumnKind::JsonArray;
    if (t.name == "int2")
        return PgColumnKind::Int2;
    if (t.name == "int4")
        return PgColumnKind::Int4;
    if (t.name == "int8")
        return PgColumnKind::Int8;
    if (t.name == "bool")
        return PgColumnKind::Bool;
    if (t.name == "date")
        return PgColumnKind::Date;
    if (t.name == "timestamp" || t.name == "timestamptz")
        return PgColumnKind::Timestamp;
    if (t.name == "numeric" || t.name == "float4" || t.name == "float8")
        return PgColumnKind::Numeric;
    if (t.name == "json" || t.name == "jsonb")
        return PgColumnKind::Json;
    if (t.name == "bytea")
        return PgColumnKind::Refused;
    return PgColumnKind::Text;
}

std::string pgSelectExpression(const std::string& col, PgColumnKind kind)
{
    switch (kind) {
    case PgColumnKind::Int2:
    case PgColumnKind::Int4:
    case PgColumnKind::Int8:
    case PgColumnKind::Bool:
    case PgColumnKind::Date:
    case PgColumnKind::Timestamp: return col;
    case PgColumnKind::JsonArray: return "to_json(" + col + ")::text";
    case PgColumnKind::Numeric:
    case PgColumnKind::Json:
    case PgColumnKind::Text:
    case PgColumnKind::Refused: break;
    }
    return col + "::text"; // text's binary form is its bytes
}

void appendPgDate(std::string& out, std::int32_t days)
{
    if (days == INT32_MAX) {
        out += "infinity";
        return;
    }
    if (days == INT32_MIN) {
        out += "-infinity";
        return;
    }
    if (appendDay(out, days + EPOCH_DAYS_2000))
        out += " BC";
}

void appendPgTimestamp(std::string& out, std::int64_t micros)
{
    if (micros == INT64_MAX) {
        out += "infinity";
        return;
    }
    if (micros == INT64_MIN) {
        out += "-infinity";
        return;
    }
    std::int64_t days = micros / MICROS_PER_DAY;
    std::int64_t rest = micros % MICROS_PER_DAY;
    if (rest < 0) {
        rest += MICROS_PER_DAY;
        --days;
    }
    const bool bc = appendDay(out, days + EPOCH_DAYS_2000);
    const std::int64_t seconds = rest / 1000000;
    std::int64_t fraction = rest % 1000000;
    out += 'T';
    appendDigits(out, static_cast<std::uint64_t>(seconds / 3600), 2);
    out += ':';
    appendDigits(out, static_cast<std::uint64_t>(seconds / 60 % 60), 2);
    out += ':';
    appendDigits(out, static_cast<std::uint64_t>(seconds % 60), 2);
    if (fraction > 0) {
        int width = 6;
        while (fraction % 10 == 0) {
            fraction /= 10;
            --width;
        }
        out += '.';
        appendDigits(out, static_cast<std::uint64_t>(fraction), width);
    }
    out += 'Z';
    if (bc)
        out += " BC";
}

void decodePgCell(PgColumnKind kind, const char* value, int length, Cell& cell, std::string& scratch)
{
    const auto size = static_cast<std::size_t>(length);
    switch (kind) {
    case PgColumnKind::Int2:
        if (integerCell<std::int16_t>(value, size, cell))
            return;
        break;
    case PgColumnKind::Int4:
        if (integerCell<std::int32_t>(value, size, cell))
            return;
        break;
    case PgColumnKind::Int8:
        if (integerCell<std::int64_t>(value, size, cell))
            return;
        break;
    case PgColumnKind::Bool:
        if (size != 1)
            break;
        cell.type = Cell::Type::Boolean;
        cell.integer = value[0] != 0;
        return;
    case PgColumnKind::Date:
        if (size != 4)
            break;
        scratch.clear();
        appendPgDate(scratch, bigEndian<std::int32_t>(value));
        cell.type = Cell::Type::Date;
        cell.text = scratch;
        return;
    case PgColumnKind::Timestamp:
        if (size != 8)
            break;
        scratch.clear();
        appendPgTimestamp(scratch, bigEndian<std::int64_t>(value));
        cell.type = Cell::Type::Timestamp;
        cell.text = scratch;
        return;
    case PgColumnKind::Numeric:
        cell.type = Cell::Type::Numeric;
        cell.text = std::string_view(value, size);
        return;
    case PgColumnKind::Json:
    case PgColumnKind::JsonArray:
        cell.type = Cell::Type::Json;
        cell.text = std::string_view(value, size);
        return;
    case PgColumnKind::Text:
    case PgColumnKind::Refused: break;
    }
    cell.type = Cell::Type::Text;
    cell.text = std::string_view(value, size);
}

bool isPostgresUri(const std::string& source)
{
    return source.rfind("postgresql://", 0) == 0 || source.rfind("postgres://", 0) == 0;
}

std::string describePostgresSource(const std::string& uri)
{
    const std::string described = pg::describeConnectionString(uri);
    return described.rfind("host=", 0) == 0 ? described : "";
}

std::map<unsigned, PgTypeInfo> lookupPgTypes(pg::Connection& connection, const std::vector<unsigned>& oids)
{
    std::map<unsigned, PgTypeInfo> out;
    std::string unknown;
    for (unsigned oid : oids) {
        auto it = builtinTypes().find(oid);
        if (it != builtinTypes().end())
            out[oid] = it->second;
        else
            unknown += (unknown.empty() ? "" : ",") + std::to_string(oid);
    }
    if (unknown.empty())
        return out;
    // A domain is read as its base type; an array's element type decides
    // whether it is written.
    const pg::Result r = connection.exec(
        "SELECT t.oid, b.typname, b.typcategory, b.typtype, coalesce(e.typname, ''), b.oid"
        " FROM pg_type t JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END"
        " LEFT JOIN pg_type e ON e.oid = b.typelem AND b.typcategory = 'A'"
        " WHERE t.oid = ANY($1::oid[])",
        pg::Params::of("{" + unknown + "}"));
    for (int i = 0; i < r.rows(); ++i) {
        PgTypeInfo t;
        t.oid = static_cast<unsigned>(r.integer(i, 5));
        t.name = r.text(i, 1);
        t.category = r.view(i, 2).empty() ? 'X' : r.view(i, 2)[0];
        t.typtype = r.view(i, 3).empty() ? 'b' : r.view(i, 3)[0];
        t.elementName = r.text(i, 4);
        out[static_cast<unsigned>(r.integer(i, 0))] = t;
    }
    return out;
}

std::vector<std::pair<std::string, PgTypeInfo>> describePgColumns(pg::Connection& connection, const Dataset& ds)
{
    std::vector<std::pair<std::string, unsigned>> columns;
    if (!ds.table.empty()) {
        const pg::Result r = connection.exec(
            "SELECT a.attname, a.atttypid FROM pg_attribute a"
            " WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            pg::Params::of(quoteTable(ds)));
        for (int i = 0; i < r.rows(); ++i)
            columns.emplace_back(r.text(i, 0), static_cast<unsigned>(r.integer(i, 1)));
    } else {
        const pg::Result r = connection.exec("SELECT * FROM (" + ds.query + ") AS src LIMIT 0");
        for (int i = 0; i < PQnfields(r.raw()); ++i)
            columns.emplace_back(PQfname(r.raw(), i), PQftype(r.raw(), i));
    }
    std::vector<unsigned> oids;
    for (const auto& c : columns)
        oids.push_back(c.second);
    const auto types = lookupPgTypes(connection, oids);
    std::vector<std::pair<std::string, PgTypeInfo>> out;
    for (const auto& c : columns) {
        auto it = types.find(c.second);
        out.emplace_back(c.first, it == types.end() ? PgTypeInfo{c.second, "oid " + std::to_string(c.second), 'X', 'b', ""}
                                                     : it->second);
    }
    return out;
}

std::string pgFailureCode(const pg::PgError& e)
{
    const std::string& state = e.sqlState();
    const std::string message = e.what();
    if (state.empty() && e.connectionLost()) {
        // libpq keeps the SQLSTATE of a refused connection to itself: its words tell.
        if (!containsAny(message, {"authentication failed", "no password supplied", "not permitted to log in",
                                   "pg_hba.conf", "does not exist", "permission denied"})
                 .empty())
            return "source_refused";
        return "source_unavailable";
    }
    if (state.compare(0, 2, "28") == 0 || state == "42501")
        return "source_refused";
    if (state == "57014")
        return message.find("statement timeout") != std::string::npos ? "source_timeout" : "source_error";
    if (e.connectionLost() || state.compare(0, 2, "08") == 0 || state.compare(0, 3, "57P") == 0)
        return "source_unavailable";
    return "source_error";
}

} // namespace exportd
