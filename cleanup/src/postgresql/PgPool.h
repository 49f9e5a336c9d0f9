#pragma once

#include "cleanup/postgresql/Connection.h"

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace exportd::cleanup::postgresql {

/// A bounded pool of connections to one PostgreSQL database, and the
/// registry's retry rules: each call borrows a connection for its duration,
/// so any number of threads may call at once (beyond the bound they wait,
/// for a bounded time). A serialization failure or a deadlock runs the work
/// again (for a bounded time); a connection found lost is dropped with every
/// idle one (a restarted server ended them all) and the work runs once more
/// on a new connection. Every other failure, and a server that cannot be
/// reached, becomes a RegistryError naming `what`, within a few seconds
/// (ConnectOptions: connect timeout, statement timeout, reply timeout).
class ConnectionPool {
public:
    using Work = std::function<void(Connection&)>;

    /// Opens nothing yet; connections open on first use, up to `maxConnections`.
    ConnectionPool(std::string conninfo, ConnectOptions options, std::size_t maxConnections);
    ~ConnectionPool();

    /// Runs `work` on a pooled connection (autocommit: each statement commits).
    void run(const char* what, const Work& work);
    /// As run(), for a statement that must not run twice (it is not
    /// idempotent and commits by itself): a connection lost once the
    /// statement was sent fails the call, since the statement may have been
    /// applied; only a connection the server had already ended (seen before
    /// sending, Connection::endedByServer) is replaced.
    void runNoResend(const char* what, const Work& work);
    /// As run(), inside BEGIN ... COMMIT: a transaction that did not commit
    /// (rolled back on any error) runs again whole when it is retried.
    void transaction(const char* what, const Work& work);

private:
    void run(const char* what, const Work& work, bool resendAfterLoss);
    std::unique_ptr<Connection> acquire(const char* what);
    void release(std::unique_ptr<Connection> connection);
    void dropIdle();

    std::string _conninfo;
    ConnectOptions _options;
    std::size_t _max;
    std::mutex _mutex;
    std::condition_variable _cond;
    std::vector<std::unique_ptr<Connection>> _idle;
    std::size_t _open = 0;
};

} // namespace exportd::cleanup::postgresql
