#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace exportd::cleanup {

/// A file operation of a FileStore that failed. code() is the errno it failed
/// with (a store without one maps its failure to the nearest, EIO at worst).
class StoreError : public std::runtime_error {
public:
    StoreError(const std::string& what, int code) : std::runtime_error(what), _code(code) {}
    int code() const { return _code; }
    /// The storage is full (ENOSPC, EDQUOT): the export fails as disk_full.
    bool diskFull() const;

private:
    int _code;
};

/// One new file of a FileStore being written, front to back. Used by one
/// thread at a time. Destroyed unfinished, it stops writing and leaves what
/// was written under its name (the caller removes it through the store).
class FileWriter {
public:
    virtual ~FileWriter() = default;
    /// Appends `size` bytes. Throws StoreError.
    virtual void write(const char* data, std::size_t size) = 0;
    /// Makes every byte written durable and closes the file. Throws StoreError.
    virtual void finish() = 0;
};

/// How one removal ended.
struct Removal {
    bool gone = false;    ///< the file is not there (removed now, or missing already)
    bool removed = false; ///< this call removed it
    std::string error;    ///< why it is still there, when !gone
};

/// An export file of the store (see list()).
struct StoredFile {
    std::string name;
    std::int64_t sizeBytes = 0;
};

/// Removes files without making its caller wait for the storage: submit()
/// starts a removal and returns, reap() collects the ones that ended. Used by
/// one thread (the cleanup timer thread): not thread-safe. The destructor
/// waits a while for the removals in flight.
class BatchRemover {
public:
    struct Result {
        std::uint64_t tag;
        std::string error; ///< empty: the file is gone (removed, or missing already)
    };

    virtual ~BatchRemover() = default;
    /// Starts removing `name`; `tag` comes back with its result. Requires
    /// inFlight() < capacity(). False, with nothing started, when the
    /// removal could not be started (the caller removes the file itself).
    virtual bool submit(const std::string& name, std::uint64_t tag) = 0;
    /// The removals ended since the last call. With `wait`, blocks until at
    /// least one has (when any is in flight).
    virtual std::vector<Result> reap(bool wait) = 0;
    virtual std::size_t inFlight() const = 0;
    virtual std::size_t capacity() const = 0;
    /// False once waiting for a result has failed: the remover is of no more use.
    virtual bool answering() const = 0;
};

/// Where export files live: every operation exportd makes on them goes
/// through this interface (docs/operations.md, The file store). It speaks in
/// file NAMES, never paths: `<id>` and `<id>.part` (ExportId.h), so that a
/// store other than a directory (an object store) can implement it.
///
/// A file is created under a `.part` name, written, made durable, then
/// published under its final name; the cleanup removes it by name. What stays
/// outside it: nginx serves the bytes of a published file from the exports
/// directory (X-Accel-Redirect), which a store that is not a directory would
/// have to replace with a redirect to a URL of its own.
///
/// Every method may be called from any thread; a FileWriter or BatchRemover
/// it returns belongs to its caller. Lives as long as the application.
class FileStore {
public:
    virtual ~FileStore() = default;

    /// A new file `name`, empty, mode 0640 where modes exist; refuses a name
    /// that exists (StoreError EEXIST): an export's file is never overwritten.
    virtual std::unique_ptr<FileWriter> create(const std::string& name) = 0;

    /// For a library that writes a file by its path itself (libxlsxwriter):
    /// claims `name` as create() does and returns a local path to write it at
    /// (its directory may hold the library's temporary files); then
    /// finishLocal(name) makes it durable and returns its size. A store that is
    /// not a directory gives a local temporary path and takes the file in at
    /// publish(). Throw StoreError.
    virtual std::string createLocal(const std::string& name) = 0;
    virtual std::uint64_t finishLocal(const std::string& name) = 0;

    /// Makes the written file `partName` the export file `finalName` at once
    /// (readable by the web server's group, mode 0640), durably. Throws StoreError.
    virtual void publish(const std::string& partName, const std::string& finalName) = 0;

    /// Removes `name`; a file already missing counts as gone. Never throws.
    virtual Removal remove(const std::string& name) = 0;

    /// A remover for up to `capacity` removals in flight, run by at most
    /// `workers` workers; nullptr, with the reason in `why`, when this store
    /// or this machine has none (the caller then removes one by one).
    virtual std::unique_ptr<BatchRemover> openBatchRemover(unsigned capacity, unsigned workers,
                                                           std::string& why) = 0;

    /// The store's export files: names exportd mints (parseExportFileName),
    /// with or without `.part`, that are plain files; anything else in the
    /// store (a directory, a link, a user's file) is not listed and so never
    /// touched. Throws StoreError when the store cannot be read.
    virtual std::vector<StoredFile> list() const = 0;

    /// Bytes free for new files, when the store knows.
    virtual std::optional<std::int64_t> freeBytes() const = 0;
    /// Empty when the store can take new files; else a word for what is
    /// wrong ("missing", or the error's text).
    virtual std::string problem() const = 0;
};

/// The store of the exports directory `dir` (local or a shared filesystem
/// such as NFS or CephFS): plain files, created O_EXCL, written through
/// write() with sync_file_range() behind each chunk, fsynced, published by
/// rename() and an fsync of the directory, given group `fileGid` (-1: left
/// as created) at publish; removed by unlink(), in batches through io_uring
/// where the kernel allows it.
///
/// Fault injection for tests of a full disk: when the environment variable
/// EXPORTD_FAULT_DISK_FULL_AFTER_BYTES is N, a write that would take a file
/// past N bytes writes up to N and then fails exactly as ENOSPC would, and
/// finishLocal() fails so for a file larger than N. Read at each create() and
/// finishLocal(). Never set it in production.
std::unique_ptr<FileStore> openDirectoryStore(std::string dir, int fileGid = -1);

} // namespace exportd::cleanup
