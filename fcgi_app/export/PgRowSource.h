#pragma once

#include "export/RowSource.h"
#include "export/PgSource.h"
#include "export/SourceSlots.h"

#include <libpq-fe.h>

#include <memory>

namespace exportd::cleanup::postgresql { class Connection; class PgError; }

namespace exportd {

/// The rows of a PostgreSQL dataset. Holds one of the source's connection
/// slots for its whole life, and one connection of its own
/// (cleanup/postgresql/Connection.h: timeouts, keepalives, errors without
/// passwords), on which it runs one transaction
/// `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY` (TimeZone UTC, the
/// dataset's statement_timeout as SET LOCAL): the count and the rows see one
/// snapshot, and a query that tries to write fails. The rows come in libpq's
/// single-row mode, binary results (see select()), one row in memory at a
/// time. Used by one thread; cancel() from any thread while it lives. Throws
/// SourceError with the failure code of docs/api.md.
class PgRowSource : public RowSource {
public:
    PgRowSource(const Dataset& dataset, SourceSlots::Slot slot);
    ~PgRowSource() override;

    std::int64_t count(const SqlQuery& query) override;
    void select(const SqlQuery& query) override;
    bool next() override;
    void cancel() override;

private:
    [[noreturn]] void fail(const std::string& step, const cleanup::postgresql::PgError& error) const;
    [[noreturn]] void failResult(const std::string& step, PGresult* result);

    const Dataset& _dataset;
    SourceSlots::Slot _slot; ///< declared first: given back after the connection closes
    std::unique_ptr<cleanup::postgresql::Connection> _connection;
    std::vector<PgColumnKind> _kinds;
    std::vector<std::string> _scratch; ///< per column: the text of a date or time
    struct ClearResult {
        void operator()(PGresult* r) const { PQclear(r); }
    };
    std::unique_ptr<PGresult, ClearResult> _row; ///< the current row; cells point into it
    bool _streaming = false;
};

} // namespace exportd
