#include "export/FileSink.h"

#include "export/RowWriter.h"

#include <Poco/DigestEngine.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace exportd {

void throwWriteError(const std::string& what, int err)
{
    throw WriteError(what + ": " + std::strerror(err), err == ENOSPC || err == EDQUOT);
}

FileSink::FileSink(cleanup::FileStore& store, const std::string& name, std::size_t bufferBytes)
    : _name(name), _bufferBytes(bufferBytes < 4096 ? 4096 : bufferBytes)
{
    try {
        _file = store.create(name);
    } catch (const cleanup::StoreError& e) {
        throw WriteError(e);
    }
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
            what = std::string("cannot write ") + _name + ": " + e.what();
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
    try {
        _file->write(chunk.data(), chunk.size());
    } catch (const cleanup::StoreError& e) {
        throw WriteError(e);
    }
    _written += chunk.size();
    _digest.update(chunk.data(), chunk.size());
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
    try {
        _file->finish();
    } catch (const cleanup::StoreError& e) {
        throw WriteError(e);
    }
    _file.reset();
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
