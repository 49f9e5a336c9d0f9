#pragma once

#include "export/Dataset.h"

#include <json/value.h>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace exportd {

/// A bound parameter of a built query.
using SqlParam = std::variant<std::int64_t, std::string>;

struct SqlQuery {
    std::string select;  ///< SELECT <columns> FROM ... WHERE ... ORDER BY ...
    std::string count;   ///< SELECT COUNT(*) FROM ... WHERE ...
    std::string fromWhere; ///< " FROM ... WHERE ..." (shared by both)
    std::string orderBy;   ///< " ORDER BY ..." or ""
    std::vector<SqlParam> params; ///< for the WHERE, in order (same for both)
};

/// Turns validated filters into SQL for the dataset's source, SQLite (`?`
/// placeholders) or PostgreSQL (`$n`). Every value is a bound parameter;
/// identifiers only ever come from the dataset configuration and are
/// double-quoted. Dates are converted to UTC; a date-only `to` includes the
/// whole day. `contains` is case-insensitive with %, _ and \ literal: SQLite
/// `lower(col) LIKE ... ESCAPE '\'` (ASCII case folding, as SQLite's lower()),
/// PostgreSQL `strpos(lower(col), lower($n)) > 0` (no pattern at all; the
/// database's own case folding). PostgreSQL dates of storage "timestamp" are
/// compared natively as timestamptz (date and timestamp columns convert in the
/// session's time zone, which the export sets to UTC).
SqlQuery buildQuery(const Dataset& dataset, const Json::Value& filters);

/// `name` as an SQL identifier: double-quoted, inner quotes doubled.
std::string quoteIdentifier(const std::string& name);

/// The dataset's table as SQL: PostgreSQL splits "schema.table" at its first
/// dot into two quoted identifiers; SQLite quotes the name whole.
std::string quoteTable(const Dataset& dataset);

} // namespace exportd
