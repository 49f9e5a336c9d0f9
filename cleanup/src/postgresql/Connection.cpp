#include "cleanup/postgresql/Connection.h"

#include <poll.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>

namespace exportd::cleanup::postgresql {

namespace {

// Server-side errors that mean the session is gone: class 08 (connection
// exception), and the server shutting down or not yet accepting connections.
bool sessionGone(const std::string& sqlState)
{
    return sqlState.compare(0, 2, "08") == 0 || sqlState == "57P01" || sqlState == "57P02"
           || sqlState == "57P03";
}

// One line: libpq's multi-line messages ("...failed: refused\n\tIs the
// server running...") become one log line.
std::string trimmed(const std::string& s)
{
    std::string out;
    for (char ch : s) {
        if (ch == '\n' || ch == '\t' || ch == '\r') ch = ' ';
        if (ch == ' ' && (out.empty() || out.back() == ' ')) continue;
        out += ch;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

// libpq's messages about a connection string quote pieces of it, which may
// be a password: every quoted piece goes.
std::string withoutQuotedParts(const std::string& s)
{
    std::string out;
    bool quoted = false;
    for (char ch : s) {
        if (ch == '"') {
            if (!quoted) out += "\"...\"";
            quoted = !quoted;
        } else if (!quoted) {
            out += ch;
        }
    }
    return out;
}

std::string scrub(std::string message, const std::string& password)
{
    message = trimmed(message);
    if (password.empty()) return message;
    for (auto at = message.find(password); at != std::string::npos; at = message.find(password, at + 3))
        message.replace(at, password.size(), "***");
    return message;
}

// The user's connection string as keyword -> value (libpq parses URIs and
// key=value strings alike). Throws PgError for one it cannot parse.
std::map<std::string, std::string> parseConnectionString(const std::string& conninfo)
{
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
    if (!options) {
        std::string message = error ? withoutQuotedParts(trimmed(error)) : "out of memory";
        PQfreemem(error);
        throw PgError("invalid PostgreSQL connection string: " + message, "", false);
    }
    std::map<std::string, std::string> values;
    for (const PQconninfoOption* o = options; o->keyword; ++o)
        if (o->val && *o->val) values[o->keyword] = o->val;
    PQconninfoFree(options);
    return values;
}

std::string describe(const std::map<std::string, std::string>& values)
{
    auto get = [&](const char* key, const char* fallback) {
        auto it = values.find(key);
        return it == values.end() ? std::string(fallback) : it->second;
    };
    return "host=" + get("host", get("hostaddr", "(default)").c_str()) + " port=" + get("port", "(default)")
           + " dbname=" + get("dbname", "(default)") + " user=" + get("user", "(default)");
}

} // namespace

std::string describeConnectionString(const std::string& conninfo)
{
    try {
        return describe(parseConnectionString(conninfo));
    } catch (const PgError&) {
        return "an unparsable connection string";
    }
}

// --- Params ---------------------------------------------------------------

Params& Params::add(std::string_view value)
{
    _values.emplace_back(std::string(value));
    return *this;
}

Params& Params::add(std::int64_t value)
{
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    (void)ec;
    _values.emplace_back(std::string(buf, end));
    return *this;
}

Params& Params::add(const std::optional<std::int64_t>& value)
{
    return value ? add(*value) : addNull();
}

Params& Params::addNull()
{
    _values.emplace_back(std::nullopt);
    return *this;
}

const char* const* Params::values() const
{
    _pointers.clear();
    for (const auto& v : _values) _pointers.push_back(v ? v->c_str() : nullptr);
    return _pointers.data();
}

// --- Result ---------------------------------------------------------------

std::int64_t Result::integer(int row, int col) const
{
    const std::string_view v = view(row, col);
    std::int64_t n = 0;
    std::from_chars(v.data(), v.data() + v.size(), n);
    return n;
}

std::optional<std::int64_t> Result::optInteger(int row, int col) const
{
    if (isNull(row, col)) return std::nullopt;
    return integer(row, col);
}

int Result::affected() const
{
    return _result ? std::atoi(PQcmdTuples(_result.get())) : 0;
}

// --- Connection -----------------------------------------------------------

Connection::Connection(const std::string& conninfo, const ConnectOptions& options)
    : _replyTimeoutMs(options.replyTimeoutMs)
{
    auto values = parseConnectionString(conninfo);
    _description = describe(values);
    if (auto it = values.find("password"); it != values.end()) _password = it->second;

    // Ours only where the user set nothing: the user's own values win.
    auto addDefault = [&](const char* key, const std::string& value) { values.emplace(key, value); };
    addDefault("connect_timeout", std::to_string(options.connectTimeoutSeconds));
    addDefault("keepalives", "1");
    addDefault("keepalives_idle", std::to_string(options.keepalivesIdleSeconds));
    addDefault("keepalives_interval", std::to_string(options.keepalivesIntervalSeconds));
    addDefault("keepalives_count", std::to_string(options.keepalivesCount));
    if (options.tcpUserTimeoutMs > 0) addDefault("tcp_user_timeout", std::to_string(options.tcpUserTimeoutMs));
    addDefault("application_name", options.applicationName);
    if (options.statementTimeoutMs > 0) {
        std::string& serverOptions = values["options"];
        if (serverOptions.find("statement_timeout") == std::string::npos)
            serverOptions += (serverOptions.empty() ? "" : " ") + std::string("-c statement_timeout=")
                             + std::to_string(options.statementTimeoutMs);
    }

    std::vector<const char*> keywords, settings;
    for (const auto& [key, value] : values) {
        keywords.push_back(key.c_str());
        settings.push_back(value.c_str());
    }
    keywords.push_back(nullptr);
    settings.push_back(nullptr);
    _conn = PQconnectdbParams(keywords.data(), settings.data(), 0);
    if (!_conn) throw PgError("cannot connect to PostgreSQL (" + _description + "): out of memory", "", true);
    if (PQstatus(_conn) != CONNECTION_OK) {
        const std::string message = scrub(PQerrorMessage(_conn), _password);
        PQfinish(_conn);
        _conn = nullptr;
        throw PgError("cannot connect to PostgreSQL (" + _description + "): " + message, "", true);
    }
    // Notices ("relation already exists, skipping") would go to stderr.
    PQsetNoticeProcessor(_conn, [](void*, const char*) {}, nullptr);
    _cancel = PQgetCancel(_conn);
}

Connection::~Connection()
{
    {
        std::lock_guard<std::mutex> lock(_cancelMutex);
        if (_cancel) PQfreeCancel(_cancel);
        _cancel = nullptr;
    }
    if (_conn) PQfinish(_conn);
}

void Connection::cancel()
{
    std::lock_guard<std::mutex> lock(_cancelMutex);
    if (!_cancel) return;
    char error[256];
    PQcancel(_cancel, error, sizeof error);
}

bool Connection::usable() const
{
    return !_lost && PQstatus(_conn) == CONNECTION_OK && PQtransactionStatus(_conn) == PQTRANS_IDLE;
}

bool Connection::endedByServer()
{
    if (_lost) return true;
    pollfd pfd{PQsocket(_conn), POLLIN, 0};
    if (pfd.fd < 0 || ::poll(&pfd, 1, 0) != 0) _lost = true;
    return _lost;
}

bool Connection::inTransaction() const
{
    const auto status = PQtransactionStatus(_conn);
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR;
}

void Connection::fail(const std::string& what, PGresult* result)
{
    std::string sqlState, message;
    if (result) {
        const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
        const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
        sqlState = state ? state : "";
        // The primary message only: a DETAIL may quote a row's values.
        message = primary ? primary : PQresultErrorMessage(result);
        PQclear(result);
    } else {
        message = PQerrorMessage(_conn);
    }
    const bool lost = PQstatus(_conn) == CONNECTION_BAD || sessionGone(sqlState);
    if (lost) _lost = true;
    throw PgError(what + ": " + scrub(message, _password) + " (" + _description + ")", sqlState, lost);
}

Result Connection::wait(const char* what)
{
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::milliseconds(_replyTimeoutMs);
    PGresult* last = nullptr;
    PGresult* error = nullptr;
    for (;;) {
        while (PQisBusy(_conn)) {
            int timeout = -1;
            if (_replyTimeoutMs > 0) {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
                timeout = static_cast<int>(std::max<std::int64_t>(0, left.count()));
            }
            pollfd pfd{PQsocket(_conn), POLLIN, 0};
            const int rc = ::poll(&pfd, 1, timeout);
            if (rc < 0 && errno == EINTR) continue;
            if (rc == 0) {
                // No word from the server: it is gone from the network (a
                // live one would have ended the statement at its timeout).
                _lost = true;
                PQclear(last);
                PQclear(error);
                throw PgError(std::string(what) + ": no reply from PostgreSQL within "
                                  + std::to_string(_replyTimeoutMs) + " ms (" + _description + ")",
                              "", true);
            }
            if (rc < 0 || !PQconsumeInput(_conn)) {
                PQclear(last);
                PQclear(error);
                fail(what, nullptr);
            }
        }
        PGresult* r = PQgetResult(_conn);
        if (!r) break;
        const auto status = PQresultStatus(r);
        if (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE || status == PGRES_NONFATAL_ERROR) {
            if (error)
                PQclear(r);
            else
                error = r;
        } else {
            PQclear(last);
            last = r;
        }
    }
    if (error) {
        PQclear(last);
        fail(what, error);
    }
    if (!last && PQstatus(_conn) == CONNECTION_BAD) fail(what, nullptr);
    return Result(last);
}

Result Connection::exec(const std::string& sql, const Params& params)
{
    if (_lost) throw PgError("connection to PostgreSQL lost (" + _description + ")", "", true);
    const int sent = params.size() == 0
                         ? PQsendQuery(_conn, sql.c_str())
                         : PQsendQueryParams(_conn, sql.c_str(), params.size(), nullptr, params.values(),
                                             nullptr, nullptr, 0);
    if (!sent) fail("send", nullptr);
    return wait("statement");
}

Result Connection::execPrepared(const std::string& name, const std::string& sql, const Params& params)
{
    if (_lost) throw PgError("connection to PostgreSQL lost (" + _description + ")", "", true);
    if (_prepared.count(name) == 0) {
        if (!PQsendPrepare(_conn, name.c_str(), sql.c_str(), params.size(), nullptr)) fail("prepare " + name, nullptr);
        wait(name.c_str());
        _prepared.insert(name);
    }
    if (!PQsendQueryPrepared(_conn, name.c_str(), params.size(), params.values(), nullptr, nullptr, 0))
        fail(name, nullptr);
    return wait(name.c_str());
}

} // namespace exportd::cleanup::postgresql
