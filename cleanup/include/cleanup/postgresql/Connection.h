#pragma once

// The thin RAII layer over libpq shared by the PostgreSQL registry and the
// PostgreSQL datasets: one connection, its results, its text parameters, its
// prepared statements, and its errors. Nothing here knows a table.

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace exportd::cleanup::postgresql {

/// A failed libpq call. sqlState() is the server's SQLSTATE ("" when the
/// error came from the client side: no connection, a timeout). The message
/// names the server by host, port and database, never by the connection
/// string, so it never carries a password.
class PgError : public std::runtime_error {
public:
    PgError(const std::string& message, std::string sqlState, bool connectionLost)
        : std::runtime_error(message), _sqlState(std::move(sqlState)), _connectionLost(connectionLost)
    {
    }
    const std::string& sqlState() const { return _sqlState; }
    /// The connection is unusable (refused, closed, timed out, server shut
    /// down): drop it and connect again.
    bool connectionLost() const { return _connectionLost; }
    /// A serialization failure (40001) or a deadlock (40P01): the transaction
    /// was rolled back and may simply run again.
    bool retryable() const { return _sqlState == "40001" || _sqlState == "40P01"; }

private:
    std::string _sqlState;
    bool _connectionLost;
};

/// Text parameters of a statement ($1, $2, ... in the order added). Values are
/// copied; nullopt binds NULL.
class Params {
public:
    Params() = default;
    template <class... Values>
    static Params of(const Values&... values)
    {
        Params p;
        (p.add(values), ...);
        return p;
    }

    Params& add(std::string_view value);
    Params& add(const std::string& value) { return add(std::string_view(value)); }
    Params& add(const char* value) { return add(std::string_view(value)); }
    Params& add(std::int64_t value);
    Params& add(int value) { return add(std::int64_t(value)); }
    Params& add(bool value) { return add(std::string_view(value ? "t" : "f")); }
    Params& add(const std::optional<std::int64_t>& value);
    Params& addNull();

    int size() const { return static_cast<int>(_values.size()); }
    /// Pointers for libpq, valid until the next add().
    const char* const* values() const;

private:
    std::vector<std::optional<std::string>> _values;
    mutable std::vector<const char*> _pointers;
};

/// One result (PGresult), freed with it. Values are read as text (libpq's text
/// format); NULL reads as "" and 0, or nullopt through the opt* readers.
class Result {
public:
    Result() = default;
    explicit Result(PGresult* result) : _result(result) {}

    int rows() const { return _result ? PQntuples(_result.get()) : 0; }
    bool isNull(int row, int col) const { return PQgetisnull(_result.get(), row, col) != 0; }
    /// Borrowed from the result: valid while it lives.
    std::string_view view(int row, int col) const
    {
        return {PQgetvalue(_result.get(), row, col), static_cast<std::size_t>(PQgetlength(_result.get(), row, col))};
    }
    std::string text(int row, int col) const { return std::string(view(row, col)); }
    std::int64_t integer(int row, int col) const;
    std::optional<std::int64_t> optInteger(int row, int col) const;
    bool boolean(int row, int col) const { return view(row, col) == "t"; }
    /// Rows an INSERT/UPDATE/DELETE changed (PQcmdTuples).
    int affected() const;
    PGresult* raw() const { return _result.get(); }

private:
    struct Free {
        void operator()(PGresult* r) const { PQclear(r); }
    };
    std::unique_ptr<PGresult, Free> _result;
};

/// What connect() adds to the user's connection string, each only where the
/// user did not set it: a bound on connecting, TCP keepalives (a dead server
/// is noticed on an idle connection), a statement timeout (a statement waits
/// for a lock no longer), the application name shown in pg_stat_activity.
struct ConnectOptions {
    int connectTimeoutSeconds = 2;   ///< libpq's minimum
    int statementTimeoutMs = 3000;   ///< 0: none
    int keepalivesIdleSeconds = 5;
    int keepalivesIntervalSeconds = 2;
    int keepalivesCount = 2;
    int tcpUserTimeoutMs = 4000;
    /// The longest the client waits for a reply to one statement before it
    /// gives the connection up as lost (a server that vanished from the
    /// network answers nothing, and the statement timeout is the server's).
    /// 0: wait as long as libpq does.
    int replyTimeoutMs = 4000;
    std::string applicationName = "exportd";
};

/// "host=... port=... dbname=... user=..." of a libpq URI or conninfo string,
/// for messages: never the password, nor anything else the string holds.
/// A string libpq cannot parse gives "an unparsable connection string".
std::string describeConnectionString(const std::string& conninfo);

/// One open libpq connection and the statements prepared on it.
///
/// Used by one thread at a time, except cancel(), which any thread may call
/// while another waits for a reply. Lives until its owner drops it; a
/// connection that lost its server (usable() false) is to be dropped.
class Connection {
public:
    /// Connects to `conninfo` (a libpq URI, "postgresql://..." or
    /// "postgres://...", or a "key=value ..." string) with `options` added.
    /// Throws PgError (connectionLost) when the server cannot be reached.
    explicit Connection(const std::string& conninfo, const ConnectOptions& options = {});
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// Runs `sql` with `params` (none: the simple protocol, which also takes
    /// several statements) and returns its last result. Throws PgError.
    Result exec(const std::string& sql, const Params& params = {});
    /// Runs the statement `sql` prepared under `name` on this connection: the
    /// first call prepares it, later calls only execute it (preparing is most
    /// of a small statement's cost). One name, one sql, for the connection's life.
    Result execPrepared(const std::string& name, const std::string& sql, const Params& params);

    /// The longest wait for a reply from now on (ConnectOptions::replyTimeoutMs;
    /// 0: none); returns the previous one. For a statement known to take
    /// longer, with a statement timeout of its own.
    int setReplyTimeoutMs(int ms)
    {
        const int previous = _replyTimeoutMs;
        _replyTimeoutMs = ms;
        return previous;
    }

    /// Asks the server to cancel the statement running on this connection, if
    /// any. Safe from any thread; the cancelled statement fails with 57014.
    void cancel();

    /// Connected and outside any transaction: fit to go back to a pool.
    bool usable() const;
    /// Inside a transaction block (after BEGIN, before COMMIT/ROLLBACK).
    bool inTransaction() const;
    /// An idle connection with something to read has lost its server: a
    /// server that stops or ends the session says so before it closes the
    /// socket. Looks without waiting (one poll()); marks the connection lost.
    bool endedByServer();
    /// "host=... port=... dbname=..." of this connection (no password).
    const std::string& description() const { return _description; }
    PGconn* raw() const { return _conn; }

private:
    Result wait(const char* what);
    [[noreturn]] void fail(const std::string& what, PGresult* result);

    PGconn* _conn = nullptr;
    std::string _description;
    std::string _password; ///< only to scrub it from libpq's messages
    int _replyTimeoutMs;
    bool _lost = false;
    std::unordered_set<std::string> _prepared;
    std::mutex _cancelMutex;
    PGcancel* _cancel = nullptr;
};

/// A longer (or shorter) reply timeout on one connection for as long as it
/// lives; the previous one is back afterwards, on every way out.
class ReplyTimeout {
public:
    ReplyTimeout(Connection& c, int ms) : _c(c), _previous(c.setReplyTimeoutMs(ms)) {}
    ~ReplyTimeout() { _c.setReplyTimeoutMs(_previous); }
    ReplyTimeout(const ReplyTimeout&) = delete;
    ReplyTimeout& operator=(const ReplyTimeout&) = delete;

private:
    Connection& _c;
    int _previous;
};

} // namespace exportd::cleanup::postgresql
