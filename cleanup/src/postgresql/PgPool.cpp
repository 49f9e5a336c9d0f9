#include "PgPool.h"

#include "cleanup/Registry.h"

#include <Poco/Logger.h>

#include <chrono>
#include <thread>

namespace exportd::cleanup::postgresql {

namespace {

using SteadyClock = std::chrono::steady_clock;

// How long a call waits for a free connection when all are in use.
constexpr auto ACQUIRE_TIMEOUT = std::chrono::seconds(3);
// Serialization failures and deadlocks are retried until this has passed
// since the first attempt.
constexpr auto RETRY_LIMIT = std::chrono::seconds(3);
// A lost connection is retried once on a new one, unless the loss took this
// long to show (a server gone from the network: connecting again would only
// add the connect timeout to the caller's wait).
constexpr auto QUICK_LOSS = std::chrono::milliseconds(1000);

} // namespace

ConnectionPool::ConnectionPool(std::string conninfo, ConnectOptions options, std::size_t maxConnections)
    : _conninfo(std::move(conninfo)), _options(std::move(options)), _max(maxConnections)
{
}

ConnectionPool::~ConnectionPool() = default;

// Alike in shape to the SQLite pool's acquire() (sqlite/SqlitePool.cpp): the
// same bounded pool of another connection type, which here also gives up
// waiting after a while (a dead database must not hold a request thread).
std::unique_ptr<Connection> ConnectionPool::acquire(const char* what)
{
    std::unique_lock<std::mutex> lock(_mutex);
    if (!_cond.wait_for(lock, ACQUIRE_TIMEOUT, [this] { return !_idle.empty() || _open < _max; }))
        throw RegistryError(std::string(what) + ": all " + std::to_string(_max)
                            + " registry connections stayed busy for 3 s");
    if (!_idle.empty()) {
        auto c = std::move(_idle.back());
        _idle.pop_back();
        return c;
    }
    ++_open;
    lock.unlock();
    try {
        return std::make_unique<Connection>(_conninfo, _options);
    } catch (const PgError& e) {
        lock.lock();
        --_open;
        _cond.notify_one();
        throw RegistryError(std::string(what) + ": " + e.what());
    }
}

void ConnectionPool::release(std::unique_ptr<Connection> connection)
{
    // A connection goes back only outside any transaction: one left inside
    // (an error mid-transaction) is rolled back first, or closed.
    if (connection->inTransaction()) {
        try {
            connection->exec("ROLLBACK");
        } catch (const PgError& e) {
            Poco::Logger::get("exportd.registry").warning("registry connection closed: rollback failed: %s",
                                                          std::string(e.what()));
        }
    }
    const bool keep = connection->usable();
    if (!keep) connection.reset();
    std::lock_guard<std::mutex> lock(_mutex);
    if (keep)
        _idle.push_back(std::move(connection));
    else
        --_open;
    _cond.notify_one();
}

void ConnectionPool::dropIdle()
{
    std::vector<std::unique_ptr<Connection>> dropped;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        dropped.swap(_idle);
        _open -= dropped.size();
        _cond.notify_all();
    }
}

void ConnectionPool::run(const char* what, const Work& work)
{
    run(what, work, true);
}

void ConnectionPool::runNoResend(const char* what, const Work& work)
{
    run(what, work, false);
}

void ConnectionPool::run(const char* what, const Work& work, bool resendAfterLoss)
{
    const auto start = SteadyClock::now();
    auto backoff = std::chrono::milliseconds(2);
    bool reconnected = false;
    for (;;) {
        const auto attempt = SteadyClock::now();
        try {
            struct Borrowed {
                ConnectionPool& pool;
                std::unique_ptr<Connection> c;
                ~Borrowed() { pool.release(std::move(c)); }
            } borrowed{*this, acquire(what)};
            if (!resendAfterLoss && borrowed.c->endedByServer()) {
                // Nothing was sent on it: a new connection may take the work.
                dropIdle();
                borrowed.c = std::make_unique<Connection>(_conninfo, _options);
            }
            work(*borrowed.c);
            return;
        } catch (const PgError& e) {
            if (e.retryable() && SteadyClock::now() + backoff < start + RETRY_LIMIT) {
                std::this_thread::sleep_for(backoff);
                backoff = std::min(backoff * 2, std::chrono::milliseconds(50));
                continue;
            }
            if (e.connectionLost()) {
                dropIdle();
                if (resendAfterLoss && !reconnected && SteadyClock::now() - attempt < QUICK_LOSS) {
                    reconnected = true;
                    continue;
                }
            }
            throw RegistryError(std::string(what) + ": " + e.what());
        }
    }
}

void ConnectionPool::transaction(const char* what, const Work& work)
{
    run(what, [&](Connection& c) {
        c.exec("BEGIN");
        work(c);
        c.exec("COMMIT");
    });
}

} // namespace exportd::cleanup::postgresql
