#include "export/SqlBuilder.h"

#include "export/ExportRequest.h"
#include "export/FilterSpec.h"

#include <cstdio>

namespace exportd {

std::string quoteIdentifier(const std::string& name)
{
    std::string out = "\"";
    for (char c : name) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + '"';
}

std::string quoteTable(const Dataset& dataset)
{
    const std::size_t dot = dataset.table.find('.');
    if (dataset.sourceKind != SourceKind::PostgreSQL || dot == std::string::npos)
        return quoteIdentifier(dataset.table);
    return quoteIdentifier(dataset.table.substr(0, dot)) + "." + quoteIdentifier(dataset.table.substr(dot + 1));
}

namespace {

// Placeholders and bound values of one query: `?` for SQLite, `$n` for PostgreSQL.
class Binder {
public:
    Binder(bool postgres, std::vector<SqlParam>& params) : _postgres(postgres), _params(params) {}
    bool postgres() const { return _postgres; }
    /// Binds `value` and returns its placeholder.
    std::string bind(SqlParam value)
    {
        _params.push_back(std::move(value));
        return _postgres ? "$" + std::to_string(_params.size()) : "?";
    }

private:
    bool _postgres;
    std::vector<SqlParam>& _params;
};

// An instant as PostgreSQL reads it: "YYYY-MM-DDTHH:MM:SS.ffffffZ".
std::string pgInstant(std::int64_t seconds, std::int64_t micros)
{
    std::string text = formatIsoUtcSeconds(seconds);
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(micros));
    return text.insert(text.size() - 1, frac);
}

// Date bounds on a native PostgreSQL column (date, timestamp, timestamptz),
// with microseconds, PostgreSQL's own precision: an inclusive `from` rounds up
// to the next microsecond, an inclusive `to` down; a date-only `to` is "before
// the next day's midnight".
void addPgDateRange(const FilterSpec& spec, const std::string& col, std::string& where, Binder& b)
{
    auto add = [&](const char* op, const std::string& instant) {
        where += (where.empty() ? "" : " AND ") + col + op + b.bind(instant) + "::timestamptz";
    };
    if (spec.from) {
        std::int64_t seconds = spec.from->seconds, micros = (spec.from->nanos + 999) / 1000;
        if (micros == 1000000) {
            ++seconds;
            micros = 0;
        }
        add(" >= ", pgInstant(seconds, micros));
    }
    if (spec.to) {
        if (!spec.to->dateOnly)
            add(" <= ", pgInstant(spec.to->seconds, spec.to->nanos / 1000));
        else if (spec.to->seconds + 86400 > MAX_BOUND_SECONDS) // stays within four-digit years
            add(" <= ", pgInstant(MAX_BOUND_SECONDS, 999999));
        else
            add(" < ", pgInstant(spec.to->seconds + 86400, 0));
    }
}

// `contains` text as a LIKE pattern body: ASCII lower case (SQLite's lower()
// is ASCII-only too, so both sides fold the same way), with the LIKE
// metacharacters and the escape character itself escaped.
std::string likeLiteral(const std::string& text)
{
    std::string out;
    out.reserve(text.size() + 8);
    for (char c : text) {
        if (c == '%' || c == '_' || c == '\\')
            out += '\\';
        out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return out;
}

// Date bounds against how the column is stored:
// - iso8601-utc-text "YYYY-MM-DDTHH:MM:SSZ": fixed-width text sorts as time,
//   so the bounds are compared as text in the same format;
// - timestamp: integer Unix epoch seconds (UTC).
// Stored values have whole seconds, so an inclusive `from` with a fraction
// becomes the next whole second, an inclusive `to` with a fraction its own
// second, and a date-only `to` is "before the next day's midnight".
void addDateRange(const FilterSpec& spec, const std::string& col, std::string& where, Binder& b)
{
    const bool text = spec.def->dateStorage == DateStorage::Iso8601UtcText;
    if (!text && b.postgres()) {
        addPgDateRange(spec, col, where, b);
        return;
    }
    auto add = [&](const char* op, std::int64_t seconds) {
        where += (where.empty() ? "" : " AND ") + col + op
            + (text ? b.bind(formatIsoUtcSeconds(seconds)) : b.bind(seconds));
    };
    if (spec.from) {
        const std::int64_t first = spec.from->seconds + (spec.from->nanos > 0 ? 1 : 0);
        if (first > MAX_BOUND_SECONDS) // after 9999-12-31T23:59:59Z; year 10000 would sort first as text
            add(" > ", MAX_BOUND_SECONDS);
        else
            add(" >= ", first);
    }
    if (spec.to) {
        if (!spec.to->dateOnly)
            add(" <= ", spec.to->seconds);
        else if (spec.to->seconds + 86400 > MAX_BOUND_SECONDS) // 10000-01-01 would not sort as text
            add(" <= ", MAX_BOUND_SECONDS);
        else
            add(" < ", spec.to->seconds + 86400);
    }
}

} // namespace

SqlQuery buildQuery(const Dataset& dataset, const Json::Value& filters)
{
    const std::vector<FilterSpec> specs = parseFilters(dataset, filters);
    SqlQuery q;
    Binder b(dataset.sourceKind == SourceKind::PostgreSQL, q.params);
    // PostgreSQL infers an untyped parameter's type from the column it meets;
    // an integer bound is given bigint so that it fits whatever integer or
    // numeric type the column has.
    const char* const integerCast = b.postgres() ? "::bigint" : "";
    std::string where;
    for (const auto& spec : specs) {
        const std::string col = quoteIdentifier(spec.def->field);
        std::string clause;
        switch (spec.kind) {
        case FilterSpec::Kind::AnyOf:
            if (spec.values.size() == 1) {
                clause = col + " = " + b.bind(spec.values[0]);
            } else {
                clause = col + " IN (";
                for (std::size_t i = 0; i < spec.values.size(); ++i)
                    clause += (i ? ", " : "") + b.bind(spec.values[i]);
                clause += ")";
            }
            break;
        case FilterSpec::Kind::Contains:
            if (b.postgres())
                clause = "strpos(lower(" + col + "), lower(" + b.bind(spec.contains) + "::text)) > 0";
            else
                clause = "lower(" + col + ") LIKE '%' || " + b.bind(likeLiteral(spec.contains)) + " || '%' ESCAPE '\\'";
            break;
        case FilterSpec::Kind::IntegerRange:
            if (spec.min && spec.max && *spec.min == *spec.max) {
                clause = col + " = " + b.bind(*spec.min) + integerCast;
                break;
            }
            if (spec.min)
                clause = col + " >= " + b.bind(*spec.min) + integerCast;
            if (spec.max)
                clause += (clause.empty() ? "" : " AND ") + col + " <= " + b.bind(*spec.max) + integerCast;
            break;
        case FilterSpec::Kind::DateRange:
            addDateRange(spec, col, clause, b);
            break;
        }
        where += (where.empty() ? " WHERE " : " AND ") + clause;
    }

    q.fromWhere = (dataset.table.empty() ? " FROM (" + dataset.query + ") AS src" : " FROM " + quoteTable(dataset))
        + where;
    if (!dataset.orderTerms.empty()) {
        q.orderBy = " ORDER BY ";
        for (std::size_t i = 0; i < dataset.orderTerms.size(); ++i)
            q.orderBy += (i ? ", " : "") + quoteIdentifier(dataset.orderTerms[i].column)
                + (dataset.orderTerms[i].descending ? " DESC" : "");
    }
    q.select = "SELECT ";
    for (std::size_t i = 0; i < dataset.columns.size(); ++i)
        q.select += (i ? ", " : "") + quoteIdentifier(dataset.columns[i]);
    q.select += q.fromWhere + q.orderBy;
    q.count = "SELECT COUNT(*)" + q.fromWhere;
    return q;
}

} // namespace exportd
