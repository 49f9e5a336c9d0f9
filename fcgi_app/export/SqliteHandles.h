#pragma once

#include <sqlite3.h>

namespace exportd {

/// Owns a raw SQLite connection of the export path (the SQLite C API: an unshared connection per job, no Poco::Data layer);
/// closes it on destruction. Used by one thread.
struct SqliteConnection {
    sqlite3* db = nullptr;
    SqliteConnection() = default;
    SqliteConnection(const SqliteConnection&) = delete;
    SqliteConnection& operator=(const SqliteConnection&) = delete;
    ~SqliteConnection() { sqlite3_close_v2(db); }
};

/// Owns a prepared statement; finalizes it on destruction. (The twin of
/// SqliteConnection for the other SQLite handle type; a template for two
/// structs of four lines would say less.)
struct SqliteStatement {
    sqlite3_stmt* stmt = nullptr;
    SqliteStatement() = default;
    SqliteStatement(const SqliteStatement&) = delete;
    SqliteStatement& operator=(const SqliteStatement&) = delete;
    ~SqliteStatement() { sqlite3_finalize(stmt); }
};

} // namespace exportd
