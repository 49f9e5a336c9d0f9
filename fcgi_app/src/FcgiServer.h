#pragma once

#include "Http.h"

#include <Poco/Thread.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace Poco { class Logger; }

namespace exportd {

/// The listening socket of SPEC 5 `listen`: fd 0 when it is a listening
/// socket (systemd, spawn-fcgi), `unix:/path` (created mode 0660, group
/// fileGid, a stale socket replaced, a live one refused) or `host:port`.
/// Throws ConfigError when it cannot be had.
int openListenSocket(const std::string& listen, int fileGid, std::string& description);

/// The only class that touches libfcgi. Runs `threads` worker threads, each in
/// the FCGX_Accept_r / FCGX_Finish_r loop of libfcgi's threaded example; turns
/// each request into a Request (body capped at maxBodyBytes), hands it to the
/// handler and writes the Response. Threads must be started with SIGUSR1
/// blocked everywhere else: stop() sends it to wake workers blocked in accept.
/// Lives as long as the application.
class FcgiServer {
public:
    using Handler = std::function<Response(const Request&)>;

    FcgiServer(int listenFd, int threads, std::int64_t maxBodyBytes, std::string identityParam,
               Handler handler, Poco::Logger& logger);
    ~FcgiServer();

    void start();
    /// Stops accepting, lets requests in flight finish, joins the workers.
    void stop();

private:
    class Worker;
    void serve();

    int _fd;
    int _threads;
    std::int64_t _maxBodyBytes;
    std::string _identityParam;
    Handler _handler;
    Poco::Logger& _logger;
    std::atomic<bool> _stopping{false};
    std::vector<std::unique_ptr<Poco::Thread>> _workers;
    std::vector<std::unique_ptr<Poco::Runnable>> _runnables;
};

} // namespace exportd
