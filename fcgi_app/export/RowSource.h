#pragma once

#include "export/Dataset.h"
#include "export/RowWriter.h"
#include "export/SqlBuilder.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace exportd {

class SourceSlots;

/// A source could not be read. `what()` names the step and the database's
/// message (never a password), for the log; code() and clientMessage() are
/// what the export fails with (docs/api.md, "Failure codes"):
/// source_error, source_unavailable, source_refused, source_timeout.
class SourceError : public std::runtime_error {
public:
    explicit SourceError(const std::string& what, std::string code = "source_error")
        : std::runtime_error(what), _code(std::move(code)) {}
    const std::string& code() const { return _code; }
    /// The sentence the export's owner reads for code().
    std::string clientMessage() const;

private:
    std::string _code;
};

/// The rows of one export from its dataset's source, in one read-only
/// transaction so that the count and the rows see the same snapshot; each row
/// decoded into Cells. SqliteRowSource and PgRowSource implement it; the
/// dataset's `source` picks one (openRowSource). Used by one thread, except
/// cancel(). Throws SourceError.
class RowSource {
public:
    virtual ~RowSource() = default;
    /// Rows the query's COUNT(*) finds.
    virtual std::int64_t count(const SqlQuery& query) = 0;
    /// Starts the SELECT; then next() until it returns false.
    virtual void select(const SqlQuery& query) = 0;
    /// Reads the next row into cells(); false at the end.
    virtual bool next() = 0;
    /// The current row; text cells point into the cursor, valid until next().
    const std::vector<Cell>& cells() const { return _cells; }
    /// Asks the database to stop the statement running now, if it can (the
    /// caller then gets SourceError or JobAbandoned from its own check).
    /// Safe from any thread while the source lives.
    virtual void cancel() {}

protected:
    std::vector<Cell> _cells;
};

/// Opens the source of `dataset`. A PostgreSQL source first waits for one of
/// `slots`' connections to its server, calling `checkStop` (which throws to
/// give up) while it waits.
std::unique_ptr<RowSource> openRowSource(const Dataset& dataset, SourceSlots& slots,
                                         const std::function<void()>& checkStop);

} // namespace exportd
