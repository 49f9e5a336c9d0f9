#pragma once

#include "export/RowSource.h"
#include "export/SqliteHandles.h"

namespace exportd {

/// The rows of an SQLite dataset: an unshared read-only connection to the
/// file (C API), one read transaction (BEGIN), a prepared statement stepped
/// row by row. Used by one thread. Throws SourceError.
class SqliteRowSource : public RowSource {
public:
    explicit SqliteRowSource(const std::string& sourcePath);

    std::int64_t count(const SqlQuery& query) override;
    void select(const SqlQuery& query) override;
    bool next() override;

private:
    [[noreturn]] void fail(const std::string& what) const;
    void prepare(const std::string& sql, const std::vector<SqlParam>& params, SqliteStatement& s);

    SqliteConnection _db;
    SqliteStatement _select;
};

} // namespace exportd
