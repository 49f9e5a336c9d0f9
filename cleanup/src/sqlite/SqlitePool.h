#pragma once

#include "SqliteConnection.h"

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace exportd::cleanup::sqlite {

/// A small pool of connections to one database, and the busy retry: each call
/// borrows a connection for its duration, so any number of threads may call at
/// once. SQLITE_BUSY (and SQLITE_LOCKED) is waited out (the busy timeout, then
/// retries of the whole work with backoff) for a bounded time; then, like any
/// other SQLite error, it becomes a RegistryError naming `what`.
class ConnectionPool {
public:
    using Work = std::function<void(Connection&)>;

    /// Opens nothing yet; connections open on first use, up to `maxConnections`.
    ConnectionPool(std::string path, ConnectionOptions options, std::size_t maxConnections, bool keepDirty);
    ~ConnectionPool();

    /// Runs `work` on a pooled connection, retrying it while the database is busy.
    void run(const char* what, const Work& work);
    /// As run(), inside BEGIN IMMEDIATE ... COMMIT (Connection::immediate):
    /// a transaction that did not commit runs again whole.
    void runImmediate(const char* what, const Work& work);

private:
    std::unique_ptr<Connection> acquire();
    void release(std::unique_ptr<Connection> connection);

    std::string _path;
    ConnectionOptions _options;
    std::size_t _max;
    /// Pool a connection whose rollback failed rather than close it (the one
    /// connection of ":memory:": closing it would drop the database).
    bool _keepDirty;
    std::mutex _mutex;
    std::condition_variable _cond;
    std::vector<std::unique_ptr<Connection>> _idle;
    std::size_t _open = 0;
};

} // namespace exportd::cleanup::sqlite
