#pragma once

#include <json/value.h>

#include <map>
#include <string>
#include <vector>

namespace exportd::ctl {

/// One filterable field of a dataset, as GET /api/datasets describes it.
struct FilterField {
    std::string type;                  ///< enum, string, date, integer
    std::vector<std::string> values;   ///< the declared values of an enum
};

using FilterFields = std::map<std::string, FilterField>;

/// The filterable fields of `dataset` in a GET /api/datasets answer; empty
/// when the dataset is not listed (the server then answers unknown_dataset).
FilterFields filterFieldsOf(const Json::Value& datasets, const std::string& dataset, bool* found);

/// Turns --filter expressions into the `filters` object (docs/api.md, Filters):
///   status=shipped,paid -> ["shipped","paid"]   country=DE -> "DE"
///   created_at=A..B -> {"from","to"}            total_cents=1..2 -> {"min","max"}
///   total_cents=42 -> 42                        customer_email~x -> {"contains": "x"}
/// With `known` false (the dataset is not listed) the shape is guessed from the
/// text. Throws CtlError(EXIT_USAGE) naming the expression.
Json::Value parseFilters(const std::vector<std::string>& expressions, const FilterFields& fields, bool known);

} // namespace exportd::ctl
