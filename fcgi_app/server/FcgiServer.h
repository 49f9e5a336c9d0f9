#pragma once

#include "export/ConfigError.h"

#include "server/Http.h"

#include <Poco/Thread.h>

#include <atomic>
#include <pthread.h>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <memory>
#include <string>
#include <vector>

namespace Poco { class Logger; }

namespace exportd {

/// The listening socket of the `listen` setting (README, "Configuration"): fd 0 when it is a listening
/// socket (systemd, spawn-fcgi), `unix:/path` (created mode 0660, group
/// fileGid, a stale socket replaced, a live one refused) or `host:port`.
/// Throws ConfigError when it cannot be had.
int openListenSocket(const std::string& listen, int fileGid, std::string& description);

/// The only class that touches libfcgi. Runs `threads` worker threads, each in
/// the FCGX_Accept_r / FCGX_Finish_r loop of libfcgi's threaded example (the
/// connection itself accepted by the worker, see serve()); turns each request
/// into a Request (body capped at maxBodyBytes), hands it to the handler and
/// writes the Response. A client gets `readTimeoutSeconds` to send its whole
/// request (params and body) and as long again to take the answer; past that a
/// watchdog shuts its connection down and the thread takes the next one.
/// Threads must be started with SIGUSR1 blocked everywhere else: stop() sends
/// it to wake workers blocked in accept. Lives as long as the application.
class FcgiServer {
public:
    using Handler = std::function<Response(const Request&)>;

    FcgiServer(int listenFd, int threads, int readTimeoutSeconds, std::int64_t maxBodyBytes,
               std::string identityParam, Handler handler, Poco::Logger& logger);
    ~FcgiServer();

    void start();
    /// Stops accepting, lets requests in flight finish, joins the workers.
    void stop();

private:
    class Worker;
    /// One per worker: the connection it is reading from or writing to, and
    /// until when. `fd` is the worker's own dup of the connection, so its
    /// number cannot be reused while the watchdog may still shut it down.
    struct Deadline {
        std::mutex mutex;
        int fd = -1;
        std::chrono::steady_clock::time_point until;
        // The worker's own state for stop(): only a worker waiting in accept()
        // is woken by a signal; one reading or answering a request is left to
        // finish it (a signal there would interrupt its read or write, and
        // nginx would see the connection closed without an answer).
        std::atomic<bool> accepting{false};
        std::atomic<bool> started{false};
        pthread_t thread{};
    };
    class ArmedDeadline;

    void serve(); // each worker
    void watch(); // the watchdog thread
    int acceptConnection();

    int _fd;
    bool _tcp = false; ///< _fd is a TCP socket (else a unix one)
    int _threads;
    std::chrono::seconds _readTimeout;
    std::vector<std::unique_ptr<Deadline>> _deadlines;
    std::atomic<int> _nextDeadline{0};
    std::thread _watchdog;
    std::mutex _watchMutex;
    std::condition_variable _watchWake;
    bool _watchStop = false;
    std::int64_t _maxBodyBytes;
    std::string _identityParam;
    Handler _handler;
    Poco::Logger& _logger;
    std::atomic<bool> _stopping{false};
    std::vector<std::unique_ptr<Poco::Thread>> _workers;
    std::vector<std::unique_ptr<Poco::Runnable>> _runnables;
};

} // namespace exportd
