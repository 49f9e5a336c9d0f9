#include "export/FileSink.h"

#include "export/RowWriter.h"

#include <Poco/DigestEngine.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace exportd {

void throwWriteError(const std::string& what, int err)
{
    throw WriteError(what + ": " + std::strerror(err), err == ENOSPC || err == EDQUOT);
}

FileSink::FileSink(const std::string& path, std::size_t bufferBytes)
    : _path(path), _bufferBytes(bufferBytes < 4096 ? 4096 : bufferBytes)
{
    if (const char* fault = std::getenv("EXPORTD_FAULT_DISK_FULL_AFTER_BYTES"))
        _faultAfter = std::strtoll(fault, nullptr, 10);
    _fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (_fd < 0)
        throwWriteError("cannot create " + path, errno);
    // Rows are appended whole before the size check, so leave room past the limit.
    _buffer.reserve(_bufferBytes + 64 * 1024);
    _inFlight.reserve(_bufferBytes + 64 * 1024);
    _io = std::thread([this] { ioLoop(); });
}

FileSink::~FileSink()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _stop = true;
    }
    _cond.notify_all();
    _io.join();
    if (_fd >= 0)
        ::close(_fd);
}

void FileSink::ioLoop()
{
    std::unique_lock<std::mutex> lock(_mutex);
    for (;;) {
        _cond.wait(lock, [this] { return _stop || _busy; });
        if (!_busy)
            return; // stopping with nothing in flight
        lock.unlock();
        int err = 0;
        std::string what;
        try {
            writeChunk(_inFlight);
        } catch (const WriteError& e) {
            err = e.diskFull() ? ENOSPC : EIO;
            what = e.what();
        } catch (const std::exception& e) {
            err = EIO;
            what = std::string("cannot write ") + _path + ": " + e.what();
        }
        lock.lock();
        if (err && !_error) {
            _error = err;
            _errorWhat = what;
        }
        _busy = false;
        _cond.notify_all();
    }
}

void FileSink::writeChunk(const std::string& chunk)
{
    if (_error)
        return; // the file is already broken: drop the rest
    const char* data = chunk.data();
    const std::size_t size = chunk.size();
    const std::uint64_t offset = _written;
    std::size_t allowed = size;
    bool injectFull = false;
    if (_faultAfter >= 0 && _written + size > static_cast<std::uint64_t>(_faultAfter)) {
        allowed = _written >= static_cast<std::uint64_t>(_faultAfter) ? 0 : _faultAfter - _written;
        injectFull = true;
    }
    std::size_t done = 0;
    while (done < allowed) {
        ssize_t n = ::write(_fd, data + done, allowed - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throwWriteError("cannot write " + _path, errno);
        }
        done += static_cast<std::size_t>(n);
    }
    _written += done;
    if (injectFull)
        throwWriteError("cannot write " + _path + " (EXPORTD_FAULT_DISK_FULL_AFTER_BYTES)", ENOSPC);
    // Start writeback of this chunk now, so that finish()'s fsync waits only
    // for the tail instead of the whole file (advisory: errors surface at fsync).
    ::sync_file_range(_fd, static_cast<off64_t>(offset), static_cast<off64_t>(size), SYNC_FILE_RANGE_WRITE);
    _digest.update(data, size);
}

void FileSink::waitIdle()
{
    std::unique_lock<std::mutex> lock(_mutex);
    _cond.wait(lock, [this] { return !_busy; });
    if (_error)
        throw WriteError(_errorWhat, _error == ENOSPC || _error == EDQUOT);
}

void FileSink::flush()
{
    if (_buffer.empty())
        return;
    waitIdle();
    _handedOff += _buffer.size();
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _inFlight.swap(_buffer);
        _busy = true;
    }
    _cond.notify_all();
    _buffer.clear();
}

void FileSink::finish()
{
    flush();
    waitIdle();
    if (::fsync(_fd) != 0)
        throwWriteError("cannot fsync " + _path, errno);
    int fd = _fd;
    _fd = -1;
    if (::close(fd) != 0)
        throwWriteError("cannot close " + _path, errno);
    _sha256 = Poco::DigestEngine::digestToHex(_digest.digest());
}

std::string sha256OfFile(const std::string& path)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throwWriteError("cannot open " + path, errno);
    Poco::Crypto::DigestEngine digest("SHA256");
    std::vector<char> chunk(1 << 20);
    for (;;) {
        ssize_t n = ::read(fd, chunk.data(), chunk.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            ::close(fd);
            throwWriteError("cannot read " + path, err);
        }
        if (n == 0)
            break;
        digest.update(chunk.data(), static_cast<std::size_t>(n));
    }
    ::close(fd);
    return Poco::DigestEngine::digestToHex(digest.digest());
}

} // namespace exportd
