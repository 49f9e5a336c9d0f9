#include "SqlitePool.h"

#include "cleanup/Registry.h"

#include <Poco/Logger.h>

#include <chrono>
#include <thread>

namespace exportd::cleanup::sqlite {

namespace {

// SQLite waits for a lock by itself (ConnectionOptions::busyTimeoutMs); run()
// then retries whole operations until RETRY_LIMIT has passed since the first
// attempt.
constexpr auto RETRY_LIMIT = std::chrono::seconds(10);

} // namespace

ConnectionPool::ConnectionPool(std::string path, ConnectionOptions options, std::size_t maxConnections,
                               bool keepDirty)
    : _path(std::move(path)), _options(options), _max(maxConnections), _keepDirty(keepDirty)
{
}

ConnectionPool::~ConnectionPool() = default;

std::unique_ptr<Connection> ConnectionPool::acquire()
{
    std::unique_lock<std::mutex> lock(_mutex);
    _cond.wait(lock, [this] { return !_idle.empty() || _open < _max; });
    if (!_idle.empty()) {
        auto c = std::move(_idle.back());
        _idle.pop_back();
        return c;
    }
    ++_open;
    lock.unlock();
    try {
        try {
            return std::make_unique<Connection>(_path, _options);
        } catch (const SqliteError& e) {
            throw RegistryError("cannot open registry " + _path + ": " + e.what());
        }
    } catch (...) {
        lock.lock();
        --_open;
        _cond.notify_one();
        throw;
    }
}

void ConnectionPool::release(std::unique_ptr<Connection> connection)
{
    // Every call leaves its connection outside any transaction (runImmediate
    // rolls back on error); one whose rollback failed is closed, not pooled, so
    // an open transaction never outlives the call that began it.
    const bool clean = connection->rollbackIfOpen() || _keepDirty;
    if (!clean) {
        Poco::Logger::get("exportd.registry")
            .error("registry connection left inside a transaction that would not roll back: closed");
        connection.reset();
    }
    std::lock_guard<std::mutex> lock(_mutex);
    if (clean)
        _idle.push_back(std::move(connection));
    else
        --_open;
    _cond.notify_one();
}

void ConnectionPool::run(const char* what, const Work& work)
{
    auto connection = acquire();
    struct Return {
        ConnectionPool& self;
        std::unique_ptr<Connection>& c;
        ~Return() { self.release(std::move(c)); }
    } giveBack{*this, connection};

    const auto deadline = std::chrono::steady_clock::now() + RETRY_LIMIT;
    auto backoff = std::chrono::milliseconds(2);
    for (;;) {
        try {
            work(*connection);
            return;
        } catch (const SqliteError& e) {
            // Busy and locked by their primary code (SqliteError::primary()).
            if (!e.busy() && !e.locked()) throw RegistryError(std::string(what) + ": " + e.what());
            if (std::chrono::steady_clock::now() + backoff > deadline)
                throw RegistryError(std::string(what) + (e.busy() ? ": registry busy: " : ": registry locked: ")
                                    + e.what());
        }
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(100));
    }
}

void ConnectionPool::runImmediate(const char* what, const Work& work)
{
    run(what, [&](Connection& c) { c.immediate(what, [&] { work(c); }); });
}

} // namespace exportd::cleanup::sqlite
