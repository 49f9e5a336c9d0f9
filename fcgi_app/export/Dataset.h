#pragma once

#include "export/ConfigError.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace exportd {

enum class FilterType { Enum, String, Date, Integer };
/// How a date filter's column is stored: ISO 8601 UTC text, or natively
/// (SQLite: integer epoch seconds; PostgreSQL: date, timestamp, timestamptz).
enum class DateStorage { Iso8601UtcText, Timestamp };
/// Where a dataset's rows live: "sqlite:<path>" or "postgresql://..." / "postgres://...".
enum class SourceKind { Sqlite, PostgreSQL };

/// One filterable field of a dataset, as declared in datasets.json.
struct FilterDef {
    std::string field;
    FilterType type = FilterType::String;
    std::vector<std::string> values;                    ///< enum: the declared values
    DateStorage dateStorage = DateStorage::Iso8601UtcText; ///< date: how the column is stored
};

/// One term of a dataset's order_by: a source column, ascending or descending.
struct OrderTerm {
    std::string column;
    bool descending = false;
};

/// A named, configured source of rows (datasets.json; README, "Configuration"). Immutable once loaded.
struct Dataset {
    std::string name;
    std::string title;
    SourceKind sourceKind = SourceKind::Sqlite;
    std::string sourcePath;     ///< the SQLite file of "source": "sqlite:<path>"
    std::string sourceUri;      ///< the libpq URI of "source": "postgresql://..." (may hold a password: never log it)
    std::string sourceLabel;    ///< the source for messages and logs: the SQLite path, or host/port/dbname/user
    std::int64_t statementTimeoutMs = 0; ///< PostgreSQL: statement_timeout of the export's statements; 0 = the server's
    std::string table;          ///< either table (PostgreSQL: "schema.table" allowed) ...
    std::string query;          ///< ... or a read-only SELECT
    std::vector<std::string> columns;
    std::string orderBy;        ///< column list for ORDER BY ("" = none)
    std::vector<OrderTerm> orderTerms; ///< orderBy, parsed ("created_at DESC, id")
    std::vector<FilterDef> filters; ///< in declaration order
    bool csvFormulaGuard = true;
    std::optional<std::vector<std::string>> allowedOwners; ///< absent: everyone

    const FilterDef* filter(const std::string& field) const;
    /// Columns whose filter is of type date (the XLSX writer makes them dates).
    std::vector<std::string> dateColumns() const;
    bool allows(const std::string& owner) const;
};

/// The formats every dataset can be exported to.
const std::vector<std::string>& supportedFormats();
std::string contentTypeFor(const std::string& format);
std::string extensionFor(const std::string& format);

/// All datasets from datasets.json. Immutable after load; shared read-only by
/// every thread (a reload builds a new catalog).
class DatasetCatalog {
public:
    /// Parses and validates the file. Throws ConfigError naming the dataset and
    /// key at fault (e.g. "datasets.orders.filters.status.type: ...").
    static DatasetCatalog loadFile(const std::string& path);
    static DatasetCatalog loadString(const std::string& json, const std::string& origin);

    /// Opens every source read-only and checks that the table or query and
    /// every column and filter field exist (PostgreSQL: also that each has a
    /// type its filter and the writers accept, and that the role may read
    /// it). Throws ConfigError naming the dataset.
    void checkSources() const;

    const Dataset* find(const std::string& name) const;
    const std::vector<Dataset>& all() const { return _datasets; }

private:
    std::vector<Dataset> _datasets;
};

} // namespace exportd
