// Over 400 lines on purpose: the one class that touches libfcgi (binding the
// socket, the worker loop, the request deadline and writing answers) stays
// in one file, so no other file needs libfcgi's headers.
#include "server/FcgiServer.h"

#include "export/ConfigError.h"

#include <Poco/Logger.h>
#include <Poco/RunnableAdapter.h>

#include <fcgiapp.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <cerrno>
#include <cctype>
#include <string_view>
#include <cstring>

namespace exportd {

namespace {

/// The FastCGI params a Request carries, read in one pass over libfcgi's
/// `envp` ("NAME=value" strings), each at its first occurrence as
/// FCGX_GetParam finds it; absent ones are empty. One FCGX_GetParam per name
/// scanned every param eleven times: about 6,500 instructions a request
/// against 4,300 for this pass, of some 80,000 for a status poll
/// (bench/RESULTS.md, status polls).
void readParams(char** envp, const std::string& identityParam, Request& request, std::string& uri,
                std::string& lengthText)
{
    const std::pair<std::string_view, std::string*> wanted[] = {
        {"REQUEST_METHOD", &request.method},
        {"REQUEST_URI", &uri},
        {"CONTENT_LENGTH", &lengthText},
        {"CONTENT_TYPE", &request.headers["content-type"]},
        {"HTTP_ACCEPT", &request.headers["accept"]},
        {"HTTP_COOKIE", &request.headers["cookie"]},
        {"HTTP_RANGE", &request.headers["range"]},
        {"REMOTE_ADDR", &request.params["REMOTE_ADDR"]},
        {"EXPORTD_FILE_GONE", &request.params["EXPORTD_FILE_GONE"]},
        {"HTTPS", &request.params["HTTPS"]},
        {identityParam, &request.params[identityParam]},
    };
    bool seen[std::size(wanted)] = {};
    for (char** p = envp; p != nullptr && *p != nullptr; ++p) {
        const char* eq = std::strchr(*p, '=');
        if (eq == nullptr)
            continue;
        const std::string_view name(*p, static_cast<std::size_t>(eq - *p));
        for (std::size_t i = 0; i < std::size(wanted); ++i) {
            if (!seen[i] && wanted[i].first == name) {
                *wanted[i].second = eq + 1;
                seen[i] = true;
            }
        }
    }
}

bool isListeningSocket(int fd)
{
    int accepting = 0;
    socklen_t len = sizeof accepting;
    return ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0 && accepting;
}

int bindUnix(const std::string& path, int fileGid)
{
    sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
        throw ConfigError("listen: socket path '" + path + "' is too long");
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);

    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            throw ConfigError("listen: '" + path + "' exists and is not a socket");
        // A socket file left by a killed process is replaced; a live one is not.
        int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const bool live = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        if (probe >= 0)
            ::close(probe);
        if (live)
            throw ConfigError("listen: another process is already listening on '" + path + "'");
        ::unlink(path.c_str());
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw ConfigError(std::string("listen: socket(): ") + std::strerror(errno));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        const int err = errno;
        ::close(fd);
        throw ConfigError("listen: cannot bind '" + path + "': " + std::strerror(err));
    }
    if (::chmod(path.c_str(), 0660) != 0 || (fileGid >= 0 && ::chown(path.c_str(), static_cast<uid_t>(-1), fileGid) != 0)) {
        const int err = errno;
        ::close(fd);
        throw ConfigError("listen: cannot set mode/group of '" + path + "': " + std::strerror(err));
    }
    if (::listen(fd, 1024) != 0) {
        const int err = errno;
        ::close(fd);
        throw ConfigError("listen: listen(): " + std::string(std::strerror(err)));
    }
    return fd;
}

int bindTcp(const std::string& hostPort)
{
    const auto colon = hostPort.rfind(':');
    if (colon == std::string::npos)
        throw ConfigError("listen: '" + hostPort + "' is not unix:/path or host:port");
    std::string host = hostPort.substr(0, colon);
    const std::string port = hostPort.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    addrinfo hints {};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res) != 0 || !res)
        throw ConfigError("listen: cannot resolve '" + hostPort + "'");
    int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || ::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 1024) != 0) {
        const int err = errno;
        if (fd >= 0)
            ::close(fd);
        ::freeaddrinfo(res);
        throw ConfigError("listen: cannot listen on '" + hostPort + "': " + std::strerror(err));
    }
    ::freeaddrinfo(res);
    return fd;
}

bool equalsIgnoringCase(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

void writeResponse(FCGX_Request& req, const Response& response)
{
    std::string head;
    head.reserve(256);
    head += "Status: ";
    head += std::to_string(response.status);
    head += ' ';
    head += reasonPhrase(response.status);
    head += "\r\n";
    bool hasLength = false, redirect = false;
    for (const auto& [name, value] : response.headers) {
        head += name;
        head += ": ";
        head += value;
        head += "\r\n";
        hasLength = hasLength || equalsIgnoringCase(name, "content-length");
        redirect = redirect || (equalsIgnoringCase(name, "x-accel-redirect") && !value.empty());
    }
    if (!hasLength && !redirect) {
        head += "Content-Length: ";
        head += std::to_string(response.body.size());
        head += "\r\n";
    }
    head += "\r\n";
    FCGX_PutStr(head.data(), static_cast<int>(head.size()), req.out);
    if (!response.body.empty())
        FCGX_PutStr(response.body.data(), static_cast<int>(response.body.size()), req.out);
}

} // namespace

int openListenSocket(const std::string& listen, int fileGid, std::string& description)
{
    if (listen.empty() || listen == "fd:0") {
        if (isListeningSocket(0)) {
            description = "fd 0";
            return 0;
        }
        if (listen == "fd:0")
            throw ConfigError("listen: fd 0 is not a listening socket");
        description = "unix:/run/exportd/exportd.sock";
        ::mkdir("/run/exportd", 0750);
        return bindUnix("/run/exportd/exportd.sock", fileGid);
    }
    description = listen;
    if (listen.rfind("unix:", 0) == 0)
        return bindUnix(listen.substr(5), fileGid);
    return bindTcp(listen);
}

// Arms a worker's Deadline on a connection and disarms it when destroyed. The
// watchdog shuts down a copy of the connection (a dup), never the worker's
// own descriptor, which libfcgi may close and the number be reused meanwhile.
// One copy serves the whole request: lift() suspends the deadline while the
// answer is computed and arm() sets it again for writing, without another
// dup and close (a system call costs microseconds on a virtual machine, a
// status poll about forty; bench/RESULTS.md, status polls).
class FcgiServer::ArmedDeadline {
public:
    ArmedDeadline(Deadline& deadline, std::chrono::seconds timeout) : _deadline(deadline), _timeout(timeout) {}
    ~ArmedDeadline() { disarm(); }
    ArmedDeadline(const ArmedDeadline&) = delete;
    ArmedDeadline& operator=(const ArmedDeadline&) = delete;

    /// A deadline of `timeout` from now over the connection.
    void arm(int connection)
    {
        {
            std::lock_guard<std::mutex> lock(_deadline.mutex);
            if (_deadline.fd >= 0) {
                _deadline.until = std::chrono::steady_clock::now() + _timeout;
                return;
            }
        }
        const int copy = connection < 0 ? -1 : ::fcntl(connection, F_DUPFD_CLOEXEC, 0);
        if (copy < 0)
            return;
        std::lock_guard<std::mutex> lock(_deadline.mutex);
        _deadline.fd = copy;
        _deadline.until = std::chrono::steady_clock::now() + _timeout;
    }

    /// No deadline until the next arm(); the copy is kept for it.
    void lift()
    {
        std::lock_guard<std::mutex> lock(_deadline.mutex);
        _deadline.until = std::chrono::steady_clock::time_point::max();
    }

    void disarm()
    {
        std::lock_guard<std::mutex> lock(_deadline.mutex);
        if (_deadline.fd >= 0)
            ::close(_deadline.fd);
        _deadline.fd = -1;
    }

private:
    Deadline& _deadline;
    std::chrono::seconds _timeout;
};

FcgiServer::FcgiServer(int listenFd, int threads, int readTimeoutSeconds, std::int64_t maxBodyBytes,
                       std::string identityParam, Handler handler, Poco::Logger& logger)
    : _fd(listenFd), _threads(threads), _readTimeout(std::max(1, readTimeoutSeconds)), _maxBodyBytes(maxBodyBytes),
      _identityParam(std::move(identityParam)), _handler(std::move(handler)), _logger(logger)
{
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    _tcp = ::getsockname(_fd, reinterpret_cast<sockaddr*>(&address), &length) == 0
        && (address.ss_family == AF_INET || address.ss_family == AF_INET6);
    FCGX_Init();
}

FcgiServer::~FcgiServer()
{
    stop();
}

void FcgiServer::start()
{
    for (int i = 0; i < _threads; ++i)
        _deadlines.emplace_back(new Deadline);
    _watchdog = std::thread([this] { watch(); });
    for (int i = 0; i < _threads; ++i) {
        _runnables.emplace_back(new Poco::RunnableAdapter<FcgiServer>(*this, &FcgiServer::serve));
        _workers.emplace_back(new Poco::Thread("fcgi-" + std::to_string(i)));
        _workers.back()->start(*_runnables.back());
    }
}

void FcgiServer::stop()
{
    if (_stopping.load() || _workers.empty())
        return;
    // Connections already queued on the socket are requests nginx has sent:
    // let the workers accept and answer them before they stop (bounded, since
    // with a TCP or inherited socket new ones may keep coming). Closing the
    // socket with connections queued resets them: nginx answers 502.
    for (int waited = 0; waited < 2000; waited += 5) {
        pollfd pending{_fd, POLLIN, 0};
        if (::poll(&pending, 1, 0) <= 0 || !(pending.revents & POLLIN))
            break;
        ::usleep(5000);
    }
    if (_stopping.exchange(true))
        return;
    FCGX_ShutdownPending();
    // Workers blocked in accept() are woken by SIGUSR1 (FCGI_FAIL_ACCEPT_ON_INTR).
    // A thread that tryJoin() has joined must not be joined again: Poco's
    // join() calls pthread_join() a second time (a SIGSEGV/SIGABRT at SIGTERM).
    std::vector<bool> joined(_workers.size(), false);
    for (int round = 0; round < 50; ++round) {
        bool alive = false;
        for (std::size_t i = 0; i < _workers.size(); ++i)
            alive = alive || (!joined[i] && _workers[i]->isRunning());
        if (!alive)
            break;
        // Only workers waiting in accept(); the others finish their request
        // and then see _stopping. A worker about to enter accept() when its
        // signal came is signalled again next round.
        for (const auto& d : _deadlines)
            if (d->started.load() && d->accepting.load())
                ::pthread_kill(d->thread, SIGUSR1);
        for (std::size_t i = 0; i < _workers.size(); ++i)
            if (!joined[i])
                joined[i] = _workers[i]->tryJoin(100);
    }
    for (std::size_t i = 0; i < _workers.size(); ++i)
        if (!joined[i])
            _workers[i]->join();
    _workers.clear();
    {
        std::lock_guard<std::mutex> lock(_watchMutex);
        _watchStop = true;
    }
    _watchWake.notify_all();
    if (_watchdog.joinable())
        _watchdog.join();
}

void FcgiServer::watch()
{
    std::unique_lock<std::mutex> lock(_watchMutex);
    while (!_watchStop) {
        _watchWake.wait_for(lock, std::chrono::milliseconds(200));
        const auto now = std::chrono::steady_clock::now();
        for (const auto& deadline : _deadlines) {
            std::lock_guard<std::mutex> slot(deadline->mutex);
            if (deadline->fd < 0 || now < deadline->until)
                continue;
            // Wakes the worker's read() or write() on the connection (it returns
            // end of file or an error): libfcgi abandons the request, the worker
            // takes the next connection.
            ::shutdown(deadline->fd, SHUT_RDWR);
            ::close(deadline->fd);
            deadline->fd = -1;
            _logger.warning("event=request_timeout timeout_seconds=%s",
                            std::to_string(_readTimeout.count()));
        }
    }
}

int FcgiServer::acceptConnection()
{
    const int conn = ::accept4(_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) {
        const int err = errno;
        if (err != EINTR && err != ECONNABORTED && err != EAGAIN) {
            // EMFILE and the like: do not spin on the socket.
            _logger.error("event=accept_failed error=\"%s\"", std::string(std::strerror(err)));
            ::usleep(100000);
        }
        return -1;
    }
    if (_tcp) { // as libfcgi does (not asked of a unix socket: one system call saved per request)
        int one = 1;
        ::setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return conn;
}

void FcgiServer::serve()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);

    Deadline& deadline = *_deadlines.at(static_cast<std::size_t>(_nextDeadline.fetch_add(1)));
    deadline.thread = ::pthread_self();
    deadline.started.store(true);

    // FCGX_Accept_r() reads the request's params itself before it returns, and
    // libfcgi reads without any time limit: one byte sent and then silence held
    // a thread for good, and request_threads such clients stopped the service.
    // SO_RCVTIMEO on the listening socket is no cure (connections accepted on a
    // unix socket do not inherit it, only TCP ones do), nor is a per-read
    // timeout (a client that sends a byte now and then never trips it). So the
    // worker accepts the connection itself and gives it to libfcgi as the
    // request's connection (ipcFd, keepConnection set so that the FCGX_Finish_r
    // at the start of FCGX_Accept_r leaves it open; libfcgi then reads from it
    // instead of accepting, and resets keepConnection from the request's own
    // flags). libfcgi's listening socket is -1: it never accepts on its own, not
    // even after dropping a bad connection. A watchdog holds a deadline of
    // request_read_timeout_seconds over reading the request (params and body)
    // and again over writing the answer and closing; past it the connection is
    // shut down and the thread takes the next one.
    FCGX_Request req;
    FCGX_InitRequest(&req, -1, FCGI_FAIL_ACCEPT_ON_INTR);
    while (!_stopping.load()) {
        if (req.ipcFd < 0) {
            deadline.accepting.store(true);
            const int conn = _stopping.load() ? -1 : acceptConnection();
            deadline.accepting.store(false);
            if (conn < 0)
                continue; // EINTR (stop() wakes workers so) or a failed accept
            req.ipcFd = conn;
            req.keepConnection = 1;
        }
        ArmedDeadline guard(deadline, _readTimeout);
        guard.arm(req.ipcFd);
        if (FCGX_Accept_r(&req) < 0)
            continue; // libfcgi dropped the connection (closed, malformed, timed out)
        // Always finish the request, whatever happens while answering it (before
        // the guard is disarmed: finishing writes and closes the connection).
        struct Finish {
            FCGX_Request& r;
            ~Finish() { FCGX_Finish_r(&r); }
        } finish{req};

        Response response;
        try {
            Request request;
            std::string uri, lengthText;
            readParams(req.envp, _identityParam, request, uri, lengthText);
            const auto q = uri.find('?');
            request.path = uri.substr(0, q);
            request.query = q == std::string::npos ? std::string() : uri.substr(q + 1);

            // The body, capped: never read more than maxBodyBytes + 1.
            long long length = lengthText.empty() ? 0 : std::atoll(lengthText.c_str());
            if (length > _maxBodyBytes) {
                request.bodyTooLarge = true;
            } else if (length > 0) {
                request.body.resize(static_cast<std::size_t>(length));
                int got = FCGX_GetStr(&request.body[0], static_cast<int>(length), req.in);
                request.body.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
            }
            guard.lift(); // the request is read; answering it has no deadline
            response = _handler(request);
        } catch (const std::exception& e) {
            _logger.error("event=request_failed error=\"%s\"", std::string(e.what()));
            response = errorResponse(500, "internal_error", "Something went wrong on our side.");
            response.setHeader("Cache-Control", "no-store");
        }
        guard.arm(req.ipcFd);
        writeResponse(req, response);
    }
    FCGX_Free(&req, 0);
}

} // namespace exportd
