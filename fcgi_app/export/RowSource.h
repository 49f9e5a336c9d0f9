#pragma once

#include "export/RowWriter.h"
#include "export/SqlBuilder.h"
#include "export/SqliteHandles.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace exportd {

/// An SQLite source could not be read; `what()` names the step and SQLite's message.
class SourceError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The rows of one export: an unshared read-only connection to the dataset's
/// SQLite file (C API), one read transaction so that the count and the rows
/// see the same snapshot, and a cursor that decodes each row into Cells.
/// Used by one thread. Throws SourceError.
class RowSource {
public:
    explicit RowSource(const std::string& sourcePath);

    /// Rows the query's COUNT(*) finds.
    std::int64_t count(const SqlQuery& query);
    /// Starts the SELECT; then next() until it returns false.
    void select(const SqlQuery& query);
    /// Reads the next row into cells(); false at the end.
    bool next();
    /// The current row; text cells point into the cursor, valid until next().
    const std::vector<Cell>& cells() const { return _cells; }

private:
    [[noreturn]] void fail(const std::string& what) const;
    void prepare(const std::string& sql, const std::vector<SqlParam>& params, SqliteStatement& s);

    SqliteConnection _db;
    SqliteStatement _select;
    std::vector<Cell> _cells;
};

} // namespace exportd
