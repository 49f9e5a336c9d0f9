#include "SqliteConnection.h"

#include <Poco/Logger.h>

namespace exportd::cleanup::sqlite {

void throwSqlite(sqlite3* db, int rc, const std::string& what)
{
    throw SqliteError(rc, what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

Statement::Statement(sqlite3* db, std::string_view sql) : _db(db)
{
    const int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &_st, nullptr);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(_st);
        _st = nullptr;
        throwSqlite(db, rc, "prepare");
    }
}

Statement::~Statement()
{
    if (_owned) {
        sqlite3_finalize(_st);
    } else {
        sqlite3_reset(_st);
        sqlite3_clear_bindings(_st);
    }
}

void Statement::check(int rc, const char* what) const
{
    if (rc != SQLITE_OK) throwSqlite(_db, rc, what);
}

Statement& Statement::bind(int index, std::int64_t value)
{
    check(sqlite3_bind_int64(_st, index, value), "bind");
    return *this;
}

Statement& Statement::bind(int index, std::string_view value)
{
    check(sqlite3_bind_text(_st, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT), "bind");
    return *this;
}

Statement& Statement::bindStatic(int index, std::string_view value)
{
    check(sqlite3_bind_text(_st, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC), "bind");
    return *this;
}

Statement& Statement::bind(int index, const std::optional<std::int64_t>& value)
{
    check(value ? sqlite3_bind_int64(_st, index, *value) : sqlite3_bind_null(_st, index), "bind");
    return *this;
}

bool Statement::step()
{
    const int rc = sqlite3_step(_st);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throwSqlite(_db, rc, "step");
}

int Statement::execute()
{
    while (step()) {
    }
    return sqlite3_changes(_db);
}

std::int64_t Statement::integerResult()
{
    return optIntegerResult().value_or(0);
}

std::optional<std::int64_t> Statement::optIntegerResult()
{
    if (!step()) return std::nullopt;
    return row().optInteger(0);
}

Connection::Connection(const std::string& path, const ConnectionOptions& options)
{
    const int rc = sqlite3_open_v2(path.c_str(), &_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
                                   nullptr);
    if (rc != SQLITE_OK) {
        const std::string message = _db ? sqlite3_errmsg(_db) : sqlite3_errstr(rc);
        sqlite3_close_v2(_db);
        _db = nullptr;
        throw SqliteError(rc, message);
    }
    try {
        sqlite3_busy_timeout(_db, options.busyTimeoutMs);
        exec("PRAGMA synchronous=NORMAL", "open");
        // Each checkpoint fsyncs the database file; at the default 1000 pages a
        // burst of deletions (one commit of ~4 pages each) spends most of its
        // time there. A larger cache spares re-reading index pages.
        if (options.walAutocheckpointPages > 0)
            exec(("PRAGMA wal_autocheckpoint=" + std::to_string(options.walAutocheckpointPages)).c_str(), "open");
        if (options.cacheKib > 0)
            exec(("PRAGMA cache_size=-" + std::to_string(options.cacheKib)).c_str(), "open");
    } catch (...) {
        sqlite3_close_v2(_db);
        throw;
    }
}

Connection::~Connection()
{
    // Statements must be finalized before their connection closes.
    for (sqlite3_stmt* st : _kept) sqlite3_finalize(st);
    sqlite3_close_v2(_db);
}

void Connection::exec(const char* sql, const char* what)
{
    const int rc = sqlite3_exec(_db, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) throwSqlite(_db, rc, std::string(what) + ": " + sql);
}

Statement Connection::kept(std::size_t index, const std::string& sql)
{
    if (_kept.size() <= index) _kept.resize(index + 1, nullptr);
    sqlite3_stmt*& st = _kept[index];
    if (!st) {
        const int rc = sqlite3_prepare_v3(_db, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                          &st, nullptr);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(st);
            st = nullptr;
            throwSqlite(_db, rc, "prepare");
        }
    }
    return Statement(_db, st);
}

bool Connection::rollbackIfOpen()
{
    if (sqlite3_get_autocommit(_db)) return true;
    sqlite3_exec(_db, "ROLLBACK", nullptr, nullptr, nullptr);
    return sqlite3_get_autocommit(_db) != 0;
}

void Connection::immediate(const char* what, const std::function<void()>& work)
{
    exec("BEGIN IMMEDIATE", what);
    try {
        work();
        exec("COMMIT", what);
    } catch (...) {
        // A failed statement may have rolled back already (SQLite does on some
        // errors): ROLLBACK only what is still open.
        if (!rollbackIfOpen())
            Poco::Logger::get("exportd.registry")
                .warning(std::string(what) + ": rollback failed: " + sqlite3_errmsg(_db));
        throw;
    }
}

} // namespace exportd::cleanup::sqlite
