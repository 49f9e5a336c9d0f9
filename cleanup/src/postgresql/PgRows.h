#pragma once

// Reading the PostgreSQL registry's rows through the shared row shapes
// (RecordColumns.h), and the SQL pieces its statements share.

#include "RecordColumns.h"

#include "cleanup/postgresql/Connection.h"

#include <string>
#include <vector>

namespace exportd::cleanup::postgresql {

/// Row `index` of a result, read as RecordColumns.h's templates read a row.
struct PgRow {
    const Result& result;
    int index;

    std::string_view view(int col) const { return result.view(index, col); }
    std::string text(int col) const { return result.text(index, col); }
    std::int64_t integer(int col) const { return result.integer(index, col); }
    std::optional<std::int64_t> optInteger(int col) const { return result.optInteger(index, col); }
};

/// "SELECT <RECORD_COLUMN_LIST> FROM exports ", to be followed by a WHERE.
extern const std::string SELECT_RECORDS;

/// The database server's clock now, in epoch ms, read afresh where it is
/// evaluated (clock_timestamp(), not now(): now() is the transaction's start).
extern const std::string DB_NOW_MS;

/// A LIMIT parameter: NULL (no limit) for 0 or less (LIMIT -1 is an error here).
inline std::optional<std::int64_t> limitParam(int limit)
{
    return limit > 0 ? std::optional<std::int64_t>(limit) : std::nullopt;
}

/// Every row of `result` as a record.
std::vector<ExportRecord> records(const Result& result);

/// A text[] literal of `values` ({"a","b"}), quoted and escaped.
std::string textArray(const std::vector<std::string>& values);
/// A bigint[] literal of `values` ({1,2}).
std::string bigintArray(const std::vector<std::int64_t>& values);

} // namespace exportd::cleanup::postgresql
