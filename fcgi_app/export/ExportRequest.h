#pragma once

#include "export/Dataset.h"

#include <json/value.h>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace exportd {

/// A validated `POST /api/exports` body (SPEC 2.2).
struct ExportRequest {
    std::string dataset;
    std::string format = "csv";
    Json::Value filters{Json::objectValue}; ///< as sent, once validated
    std::int64_t retentionSeconds = 0;      ///< filled with the configured one when absent
    /// Canonical form (keys sorted, arrays sorted and de-duplicated, a single
    /// value equal to a one-element array, defaults filled in), as compact JSON
    /// text: equal requests have equal keys.
    std::string canonicalKey;
};

/// Parses and validates a request body for `owner` ("" when identity is off).
/// Throws RequestError with status 400 and code invalid_json / invalid_request
/// (with `field`, e.g. "filters.created_at.from") / unknown_dataset (also for a
/// dataset whose allowed_owners leave `owner` out) / unsupported_format.
ExportRequest parseExportRequest(const std::string& body, const DatasetCatalog& catalog,
                                 std::int64_t maxRetentionSeconds, const std::string& owner);

/// The unknown_dataset error for `name`, the same wherever it is raised.
class RequestError;
RequestError unknownDataset(const std::string& name);

/// Validates an already parsed filters object against a dataset (used by
/// parseExportRequest and by regenerate). Throws RequestError.
void validateFilters(const Dataset& dataset, const Json::Value& filters);

/// Canonical key for (dataset, format, filters, retention).
std::string canonicalKey(const std::string& dataset, const std::string& format,
                         const Json::Value& filters, std::int64_t retentionSeconds);

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
