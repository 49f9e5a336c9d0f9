#include "cleanup/FileStore.h"

#include "cleanup/ExportId.h"
#include "storage/UnlinkRing.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <unordered_map>

namespace exportd::cleanup {

bool StoreError::diskFull() const
{
    return _code == ENOSPC || _code == EDQUOT;
}

namespace {

[[noreturn]] void fail(const std::string& what, int err)
{
    throw StoreError(what + ": " + std::strerror(err), err);
}

// The fault hook of openDirectoryStore() (FileStore.h); -1 when unset.
std::int64_t faultAfterBytes()
{
    const char* fault = std::getenv("EXPORTD_FAULT_DISK_FULL_AFTER_BYTES");
    return fault ? std::strtoll(fault, nullptr, 10) : -1;
}

// A name is one entry of the directory, never a way out of it.
bool isEntryName(const std::string& name)
{
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

class DirectoryWriter : public FileWriter {
public:
    DirectoryWriter(int fd, std::string path) : _fd(fd), _path(std::move(path)), _faultAfter(faultAfterBytes()) {}
    ~DirectoryWriter() override
    {
        if (_fd >= 0)
            ::close(_fd);
    }
    DirectoryWriter(const DirectoryWriter&) = delete;
    DirectoryWriter& operator=(const DirectoryWriter&) = delete;

    void write(const char* data, std::size_t size) override
    {
        const std::uint64_t offset = _written;
        std::size_t allowed = size;
        bool injectFull = false;
        if (_faultAfter >= 0 && _written + size > static_cast<std::uint64_t>(_faultAfter)) {
            allowed = _written >= static_cast<std::uint64_t>(_faultAfter)
                ? 0
                : static_cast<std::size_t>(static_cast<std::uint64_t>(_faultAfter) - _written);
            injectFull = true;
        }
        std::size_t done = 0;
        while (done < allowed) {
            const ssize_t n = ::write(_fd, data + done, allowed - done);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                fail("cannot write " + _path, errno);
            }
            done += static_cast<std::size_t>(n);
        }
        _written += done;
        if (injectFull)
            fail("cannot write " + _path + " (EXPORTD_FAULT_DISK_FULL_AFTER_BYTES)", ENOSPC);
        // Start writeback of this chunk now, so that finish()'s fsync waits only
        // for the tail instead of the whole file (advisory: errors surface at fsync).
        ::sync_file_range(_fd, static_cast<off64_t>(offset), static_cast<off64_t>(size), SYNC_FILE_RANGE_WRITE);
    }

    void finish() override
    {
        if (::fsync(_fd) != 0)
            fail("cannot fsync " + _path, errno);
        const int fd = _fd;
        _fd = -1;
        if (::close(fd) != 0)
            fail("cannot close " + _path, errno);
    }

private:
    int _fd;
    std::string _path;
    std::int64_t _faultAfter;
    std::uint64_t _written = 0;
};

// The io_uring ring with the paths of its unlinks in flight, which must stay
// valid until reaped (UnlinkRing::submit).
class DirectoryRemover : public BatchRemover {
public:
    DirectoryRemover(std::string dir, std::unique_ptr<UnlinkRing> ring)
        : _dir(std::move(dir)), _ring(std::move(ring)) {}

    bool submit(const std::string& name, std::uint64_t tag) override
    {
        if (!isEntryName(name))
            return false;
        // unordered_map nodes stay put when it grows: the path's buffer is stable.
        const std::string& path = _paths[tag] = _dir + "/" + name;
        if (_ring->submit(path.c_str(), tag))
            return true;
        _paths.erase(tag);
        return false;
    }

    std::vector<Result> reap(bool wait) override
    {
        std::vector<Result> results;
        for (const UnlinkRing::Result& r : _ring->reap(wait)) {
            _paths.erase(r.tag);
            // A file already gone counts as removed, as with remove().
            results.push_back({r.tag, r.error == 0 || r.error == ENOENT ? std::string() : std::strerror(r.error)});
        }
        return results;
    }

    std::size_t inFlight() const override { return _ring->inFlight(); }
    std::size_t capacity() const override { return _ring->capacity(); }
    bool answering() const override { return _ring->answering(); }

private:
    std::string _dir;
    std::unordered_map<std::uint64_t, std::string> _paths; ///< outlives the ring (declared first)
    std::unique_ptr<UnlinkRing> _ring;
};

class DirectoryStore : public FileStore {
public:
    DirectoryStore(std::string dir, int fileGid) : _dir(std::move(dir)), _fileGid(fileGid) {}

    std::unique_ptr<FileWriter> create(const std::string& name) override
    {
        const std::string path = pathOf(name);
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (fd < 0)
            fail("cannot create " + path, errno);
        return std::make_unique<DirectoryWriter>(fd, path);
    }

    std::string createLocal(const std::string& name) override
    {
        // Claimed like create(); the library rewrites the file in place,
        // keeping its mode.
        create(name);
        return pathOf(name);
    }

    std::uint64_t finishLocal(const std::string& name) override
    {
        const std::string path = pathOf(name);
        if (::chmod(path.c_str(), 0640) != 0)
            fail("cannot chmod " + path, errno);
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            fail("cannot open " + path, errno);
        struct stat st {};
        const bool ok = ::fsync(fd) == 0 && ::fstat(fd, &st) == 0;
        const int err = errno;
        ::close(fd);
        if (!ok)
            fail("cannot fsync " + path, err);
        const auto size = static_cast<std::uint64_t>(st.st_size);
        // The fault hook, applied to the finished size (the library did its own writes).
        const std::int64_t faultAfter = faultAfterBytes();
        if (faultAfter >= 0 && size > static_cast<std::uint64_t>(faultAfter))
            fail("cannot write " + path + " (EXPORTD_FAULT_DISK_FULL_AFTER_BYTES)", ENOSPC);
        return size;
    }

    void publish(const std::string& partName, const std::string& finalName) override
    {
        const std::string part = pathOf(partName);
        const std::string final = pathOf(finalName);
        if (_fileGid >= 0 && ::chown(part.c_str(), static_cast<uid_t>(-1), static_cast<gid_t>(_fileGid)) != 0)
            fail("cannot give " + part + " its group", errno);
        if (::chmod(part.c_str(), 0640) != 0)
            fail("cannot chmod " + part, errno);
        if (::rename(part.c_str(), final.c_str()) != 0)
            fail("cannot rename " + part, errno);
        // The rename is durable once the directory is.
        const int fd = ::open(_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            fail("cannot open " + _dir, errno);
        const int rc = ::fsync(fd);
        const int err = errno;
        ::close(fd);
        if (rc != 0)
            fail("cannot fsync " + _dir, err);
    }

    Removal remove(const std::string& name) override
    {
        if (!isEntryName(name))
            return {false, false, "not a file name of the store"};
        if (::unlink((_dir + "/" + name).c_str()) == 0)
            return {true, true, {}};
        const int err = errno;
        if (err == ENOENT)
            return {true, false, {}};
        return {false, false, std::strerror(err)};
    }

    std::unique_ptr<BatchRemover> openBatchRemover(unsigned capacity, unsigned workers, std::string& why) override
    {
        std::unique_ptr<UnlinkRing> ring = UnlinkRing::open(capacity, workers, why);
        if (!ring)
            return nullptr;
        return std::make_unique<DirectoryRemover>(_dir, std::move(ring));
    }

    std::vector<StoredFile> list() const override
    {
        DIR* d = ::opendir(_dir.c_str());
        if (!d)
            fail("cannot read " + _dir, errno);
        std::vector<StoredFile> files;
        while (const dirent* e = ::readdir(d)) {
            // Only names exportd mints (not the API's looser 22-32 rule): a
            // user's "Quarterly_Report_2026_v2" is not exportd's.
            if (!parseExportFileName(e->d_name))
                continue;
            // Only regular files, looked at without following a symlink:
            // exportd never makes links, directories or FIFOs, so whoever did keeps them.
            struct stat st {};
            if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
                continue; // gone meanwhile, or not a plain file
            files.push_back({e->d_name, static_cast<std::int64_t>(st.st_size)});
        }
        ::closedir(d);
        return files;
    }

    std::optional<std::int64_t> freeBytes() const override
    {
        struct statvfs fs {};
        if (::statvfs(_dir.c_str(), &fs) != 0)
            return std::nullopt;
        return static_cast<std::int64_t>(fs.f_bavail) * static_cast<std::int64_t>(fs.f_frsize);
    }

    std::string problem() const override
    {
        struct stat st {};
        if (::stat(_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
            return "missing";
        if (::access(_dir.c_str(), W_OK | X_OK) != 0)
            return std::strerror(errno);
        return {};
    }

private:
    std::string pathOf(const std::string& name) const
    {
        if (!isEntryName(name))
            throw StoreError("'" + name + "' is not a file name of the store", EINVAL);
        return _dir + "/" + name;
    }

    std::string _dir;
    int _fileGid;
};

} // namespace

std::unique_ptr<FileStore> openDirectoryStore(std::string dir, int fileGid)
{
    return std::make_unique<DirectoryStore>(std::move(dir), fileGid);
}

} // namespace exportd::cleanup
