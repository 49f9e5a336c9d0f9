#include "export/SqlBuilder.h"

#include "export/ExportRequest.h"
#include "export/FilterSpec.h"

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

namespace {

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
void addDateRange(const FilterSpec& spec, const std::string& col, std::string& where, std::vector<SqlParam>& params)
{
    const bool text = spec.def->dateStorage == DateStorage::Iso8601UtcText;
    auto add = [&](const char* op, std::int64_t seconds) {
        where += (where.empty() ? "" : " AND ") + col + op + "?";
        if (text)
            params.emplace_back(formatIsoUtcSeconds(seconds));
        else
            params.emplace_back(seconds);
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
    std::string where;
    for (const auto& spec : specs) {
        const std::string col = quoteIdentifier(spec.def->field);
        std::string clause;
        switch (spec.kind) {
        case FilterSpec::Kind::AnyOf:
            if (spec.values.size() == 1) {
                clause = col + " = ?";
            } else {
                clause = col + " IN (";
                for (std::size_t i = 0; i < spec.values.size(); ++i)
                    clause += i ? ", ?" : "?";
                clause += ")";
            }
            for (const auto& v : spec.values)
                q.params.emplace_back(v);
            break;
        case FilterSpec::Kind::Contains:
            clause = "lower(" + col + ") LIKE '%' || ? || '%' ESCAPE '\\'";
            q.params.emplace_back(likeLiteral(spec.contains));
            break;
        case FilterSpec::Kind::IntegerRange:
            if (spec.min && spec.max && *spec.min == *spec.max) {
                clause = col + " = ?";
                q.params.emplace_back(*spec.min);
                break;
            }
            if (spec.min) {
                clause = col + " >= ?";
                q.params.emplace_back(*spec.min);
            }
            if (spec.max) {
                clause += (clause.empty() ? "" : " AND ") + col + " <= ?";
                q.params.emplace_back(*spec.max);
            }
            break;
        case FilterSpec::Kind::DateRange:
            addDateRange(spec, col, clause, q.params);
            break;
        }
        where += (where.empty() ? " WHERE " : " AND ") + clause;
    }

    const std::string from = dataset.table.empty() ? " FROM (" + dataset.query + ") AS src"
                                                   : " FROM " + quoteIdentifier(dataset.table);
    q.select = "SELECT ";
    for (std::size_t i = 0; i < dataset.columns.size(); ++i)
        q.select += (i ? ", " : "") + quoteIdentifier(dataset.columns[i]);
    q.select += from + where;
    if (!dataset.orderTerms.empty()) {
        q.select += " ORDER BY ";
        for (std::size_t i = 0; i < dataset.orderTerms.size(); ++i)
            q.select += (i ? ", " : "") + quoteIdentifier(dataset.orderTerms[i].column)
                + (dataset.orderTerms[i].descending ? " DESC" : "");
    }
    q.count = "SELECT COUNT(*)" + from + where;
    return q;
}

} // namespace exportd
