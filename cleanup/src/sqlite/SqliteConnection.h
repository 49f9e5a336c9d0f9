#pragma once

// The thin RAII layer of the SQLite registry over the SQLite C API: one
// connection, its statements, a row's columns, a write transaction, and the
// errors, with busy and locked told apart so that the registry can wait them
// out. Nothing here knows the registry's tables (SqliteRows, SqliteSchema).

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace exportd::cleanup::sqlite {

/// A failed SQLite call. primary() is the primary result code: extended codes
/// (SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED_SHAREDCACHE, ...) count as their
/// primary one, so none of them escapes the registry's busy retry as another
/// error.
class SqliteError : public std::runtime_error {
public:
    SqliteError(int code, const std::string& message) : std::runtime_error(message), _code(code) {}
    int primary() const { return _code & 0xff; }
    bool busy() const { return primary() == SQLITE_BUSY; }
    bool locked() const { return primary() == SQLITE_LOCKED; }

private:
    int _code;
};

/// Throws SqliteError for `rc`, with `what` and the connection's message.
[[noreturn]] void throwSqlite(sqlite3* db, int rc, const std::string& what);

/// A row's columns, read through sqlite3_column_value() and the sqlite3_value_*
/// functions: every sqlite3_column_* call enters the connection's mutex and
/// checks its error state, and text needs two of them (text, bytes), a third of
/// reading a list's rows (callgrind). The values are "unprotected", which is
/// safe here: only the thread holding the pooled connection uses it. NULL
/// reads as "" and 0.
struct Row {
    sqlite3_stmt* st;

    /// Borrowed from SQLite's buffer: valid until the statement steps again.
    std::string_view view(int col) const
    {
        sqlite3_value* v = sqlite3_column_value(st, col);
        const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(v));
        return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_value_bytes(v))) : std::string_view();
    }
    std::string text(int col) const { return std::string(view(col)); }
    std::int64_t integer(int col) const { return sqlite3_value_int64(sqlite3_column_value(st, col)); }
    std::optional<std::int64_t> optInteger(int col) const
    {
        sqlite3_value* v = sqlite3_column_value(st, col);
        if (sqlite3_value_type(v) == SQLITE_NULL) return std::nullopt;
        return sqlite3_value_int64(v);
    }
};

/// One statement in use. Either prepared for this use and finalized at its end,
/// or one of the connection's kept statements (Connection::kept), then reset
/// and its bindings cleared at its end: on every way out.
class Statement {
public:
    /// Prepares `sql` on `db` for this use.
    Statement(sqlite3* db, std::string_view sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    /// Parameters by index (1-based). Text is copied unless bound with
    /// bindStatic(), whose text must outlive the statement's use.
    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, std::string_view value);
    Statement& bind(int index, const std::optional<std::int64_t>& value);
    Statement& bindStatic(int index, std::string_view value);
    /// Binds `values` to parameters 1, 2, ... in order.
    template <class... Values>
    Statement& bindAll(const Values&... values)
    {
        int index = 0;
        (bind(++index, values), ...);
        return *this;
    }

    /// Steps once: true with a row to read (row()), false when done.
    bool step();
    Row row() const { return Row{_st}; }
    /// Steps to the end; the number of rows the statement changed.
    int execute();
    /// Ready to run again (keeps the bindings).
    void reset() { sqlite3_reset(_st); }
    /// The single value of a one-row, one-column query (0 when none or NULL).
    std::int64_t integerResult();
    std::optional<std::int64_t> optIntegerResult();

private:
    friend class Connection;
    Statement(sqlite3* db, sqlite3_stmt* kept) : _db(db), _st(kept), _owned(false) {}
    void check(int rc, const char* what) const;

    sqlite3* _db;
    sqlite3_stmt* _st = nullptr;
    bool _owned = true;
};

/// Settings of a connection, applied when it opens.
struct ConnectionOptions {
    int busyTimeoutMs = 2000;
    /// Fewer than 1: leave the defaults (":memory:").
    int walAutocheckpointPages = 0;
    int cacheKib = 0;
};

/// One open SQLite connection with the statements kept on it. Only one thread
/// uses a connection at a time; closing it finalizes its kept statements.
class Connection {
public:
    /// Opens (creating) the database file `path` or ":memory:"; throws
    /// SqliteError with SQLite's reason.
    Connection(const std::string& path, const ConnectionOptions& options);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    sqlite3* db() const { return _db; }
    /// Runs `sql` (no parameters, no rows wanted).
    void exec(const char* sql, const char* what);
    /// The statement number `index` of `sql`, prepared on this connection the
    /// first time and kept until it closes (the hot reads: preparing is most
    /// of their cost).
    Statement kept(std::size_t index, const std::string& sql);
    /// Rolls back the transaction left open, if any; true when none is left
    /// open (a connection still inside a transaction must not be used again: it
    /// would keep the write lock, and its next BEGIN would fail).
    bool rollbackIfOpen();

    /// Runs `work` inside BEGIN IMMEDIATE ... COMMIT: the write lock is taken
    /// up front, through the busy handler (a deferred BEGIN's read-then-write
    /// fails at once under WAL when another connection wrote meanwhile). On
    /// any error, a failed COMMIT (busy) included, what is still open is
    /// rolled back and the error goes on: what `work` read and returns always
    /// comes from an attempt that committed.
    void immediate(const char* what, const std::function<void()>& work);

private:
    sqlite3* _db = nullptr;
    std::vector<sqlite3_stmt*> _kept;
};

} // namespace exportd::cleanup::sqlite
