#pragma once

#include "export/RowWriter.h"

#include "cleanup/FileStore.h"

#include <Poco/Crypto/DigestEngine.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace exportd {

/// The output end of the CSV and NDJSON writers: a new file of the FileStore
/// (FileStore::create: exclusive, mode 0640) behind a large buffer that the
/// writer appends to directly. A full buffer is handed to the sink's own I/O
/// thread, which writes it to the store's FileWriter and feeds it to SHA-256
/// (OpenSSL through Poco::Crypto) while the job fills the other buffer (double
/// buffering: the digest is ready when the file is, and formatting overlaps
/// the I/O). ENOSPC/EDQUOT throw WriteError(diskFull = true), other errors
/// WriteError; an error of the I/O thread is thrown by the next flush() or
/// finish(). (The store's fault hook for a full disk, FileStore.h, fails a
/// write here as ENOSPC would.)
///
/// Used by one thread (plus its internal I/O thread). The destructor stops the
/// I/O thread and closes the file but never removes it (the caller owns the name).
class FileSink {
public:
    FileSink(cleanup::FileStore& store, const std::string& name, std::size_t bufferBytes);
    ~FileSink();

    FileSink(const FileSink&) = delete;
    FileSink& operator=(const FileSink&) = delete;

    /// The buffer to append to; call flushIfFull() after each row.
    std::string& buffer() { return _buffer; }
    void flushIfFull()
    {
        if (_buffer.size() >= _bufferBytes)
            flush();
    }
    /// Hands the buffer to the I/O thread (waiting for the previous chunk).
    void flush();
    /// flush + wait + fsync + close; computes the digest.
    void finish();

    std::uint64_t bytesWritten() const { return _written; }
    /// Bytes appended so far, written or still buffered; the caller's thread.
    std::uint64_t bytesAppended() const { return _handedOff + _buffer.size(); }
    const std::string& sha256() const { return _sha256; }

private:
    void ioLoop();
    void writeChunk(const std::string& chunk); // I/O thread
    void waitIdle();                            // caller's thread; rethrows the I/O thread's error

    std::string _name;
    std::unique_ptr<cleanup::FileWriter> _file; // written by the I/O thread while _busy
    std::size_t _bufferBytes;
    std::string _buffer;
    std::string _inFlight;                      // owned by the I/O thread while _busy
    std::uint64_t _written = 0;                 // written by the I/O thread, read after waitIdle()
    std::uint64_t _handedOff = 0;               // caller's thread: bytes given to the I/O thread
    Poco::Crypto::DigestEngine _digest{"SHA256"};
    std::string _sha256;

    std::mutex _mutex;
    std::condition_variable _cond;
    bool _busy = false;
    bool _stop = false;
    int _error = 0;
    std::string _errorWhat;
    std::thread _io;
};

/// The shared half of the CSV and NDJSON writers: a RowWriter over one
/// FileSink. Subclasses append rows to `_sink.buffer()` and call
/// `_sink.flushIfFull()`. Used by one thread.
class FileRowWriter : public RowWriter {
public:
    FileRowWriter(cleanup::FileStore& store, const std::string& name, std::size_t bufferBytes)
        : _sink(store, name, bufferBytes) {}
    void finish() override { _sink.finish(); }
    std::uint64_t bytesWritten() const override { return _sink.bytesWritten(); }
    std::uint64_t bytesSoFar() const override { return _sink.bytesAppended(); }
    std::string sha256() const override { return _sink.sha256(); }

protected:
    FileSink _sink;
};

/// Throws WriteError for `what` with errno `err` (diskFull for ENOSPC/EDQUOT).
[[noreturn]] void throwWriteError(const std::string& what, int err);

/// Lower-case hex SHA-256 of a local file's bytes (a FileStore::createLocal()
/// path), read in 1 MiB chunks. Throws WriteError.
std::string sha256OfFile(const std::string& path);

} // namespace exportd
