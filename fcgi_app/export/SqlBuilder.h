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
    std::vector<SqlParam> params; ///< for the WHERE, in order (same for both)
};

/// Turns validated filters into SQL for SQLite. Every value is a bound
/// parameter; identifiers only ever come from the dataset configuration and
/// are double-quoted. Dates are converted to UTC; a date-only `to` includes the
/// whole day; `contains` is a case-insensitive LIKE with ESCAPE '\' in which
/// %, _ and \ are literal.
SqlQuery buildQuery(const Dataset& dataset, const Json::Value& filters);

/// `name` as an SQL identifier: double-quoted, inner quotes doubled.
std::string quoteIdentifier(const std::string& name);

} // namespace exportd
