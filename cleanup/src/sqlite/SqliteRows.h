#pragma once

// The exports table's two row shapes and their one mapper each: a whole record
// (RECORD_COLUMNS, rowToRecord) and what a client sees (VIEW_COLUMNS,
// rowToView); and the record's INSERT.

#include "SqliteConnection.h"

#include "cleanup/ExportRecord.h"

#include <string>

namespace exportd::cleanup::sqlite {

/// Column order read by rowToRecord().
extern const std::string RECORD_COLUMNS;
/// "SELECT <RECORD_COLUMNS> FROM exports ", to be followed by a WHERE.
extern const std::string SELECT_RECORDS;
/// Column order read by rowToView(): what a client sees, no more (SQLite
/// copies every text column it returns).
extern const std::string VIEW_COLUMNS;

/// A row of RECORD_COLUMNS, copied.
ExportRecord rowToRecord(const Row& row);
/// A row of VIEW_COLUMNS, borrowed from SQLite's buffers (valid until the next
/// step): a list is rendered without copying any column.
ExportView rowToView(const Row& row);

/// Every row of `st` (RECORD_COLUMNS), stepped to the end.
std::vector<ExportRecord> records(Statement& st);

/// Inserts `rec` (RECORD_COLUMNS, updated_at = created_at).
void insertRecord(Connection& c, const ExportRecord& rec);

} // namespace exportd::cleanup::sqlite
