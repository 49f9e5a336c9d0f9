#pragma once

#include "export/Dataset.h"
#include "export/DateTime.h"

#include <json/value.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace exportd {

/// One validated filter, in the shape the SQL builder needs. Internal to the
/// request parser and the SQL builder.
struct FilterSpec {
    enum class Kind { AnyOf, Contains, IntegerRange, DateRange };
    const FilterDef* def = nullptr;
    Kind kind = Kind::AnyOf;
    std::vector<std::string> values;           ///< AnyOf: sorted, de-duplicated
    std::string contains;                      ///< Contains: the text as sent
    std::optional<std::int64_t> min, max;      ///< IntegerRange (equals: min == max)
    std::optional<DateBound> from, to;         ///< DateRange, in UTC
};

/// Validates `filters` (docs/api.md, the filters of creating an export) against `dataset`; throws RequestError 400
/// invalid_request with the dotted path in `field`. Sorted by field name.
std::vector<FilterSpec> parseFilters(const Dataset& dataset, const Json::Value& filters);

namespace detail {
/// Checks shared by the request parser and the filter parser: each throws
/// RequestError 400 invalid_request naming `field`.
[[noreturn]] void invalid(const std::string& field, const std::string& message);
/// "a string", "an array", ... for messages.
std::string describeType(const Json::Value& v);
/// `v` as a string, else invalid(field, field + " must be " + what ...).
std::string requireString(const Json::Value& v, const std::string& field, const std::string& what);
} // namespace detail

/// Most values one any-of filter may list.
constexpr std::size_t MAX_FILTER_VALUES = 1000;

} // namespace exportd
