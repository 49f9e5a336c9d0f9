#pragma once

#include "export/Dataset.h"

#include <json/value.h>

#include <cstdint>
#include <string>
#include <vector>

namespace exportd {

/// A validated `POST /api/exports` body (docs/api.md, creating an export; README, "The API in brief").
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

/// The names of a filters object, comma-separated ("country,created_at"),
/// or "-" when there are none; for log lines, which never carry the values.
std::string filterKeys(const Json::Value& filters);

} // namespace exportd
