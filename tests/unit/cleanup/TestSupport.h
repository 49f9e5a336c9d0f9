#pragma once

#include "cleanup/ExportRecord.h"
#include "cleanup/Registry.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace exportd::cleanup::test {

/// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
public:
    TempDir()
    {
        char templ[] = "/tmp/cleanup-test-XXXXXX";
        if (!::mkdtemp(templ)) throw std::runtime_error("mkdtemp failed");
        _path = templ;
    }
    ~TempDir()
    {
        const std::string cmd = "rm -rf '" + _path + "'";
        if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "cannot remove %s\n", _path.c_str());
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return _path; }
    std::string file(const std::string& name) const { return _path + "/" + name; }

private:
    std::string _path;
};

/// Makes `<dir>/exports` (0750, as exportd does) and returns its path.
inline std::string makeExportsDir(const TempDir& dir)
{
    const std::string path = dir.file("exports");
    if (::mkdir(path.c_str(), 0750) != 0) throw std::runtime_error("mkdir " + path);
    return path;
}

inline void writeFile(const std::string& path, const std::string& content = "a,b\r\n1,2\r\n")
{
    std::ofstream out(path, std::ios::binary);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + path);
}

inline bool exists(const std::string& path)
{
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0;
}

/// Polls `done` every few ms until it holds or `timeoutMs` has passed. The
/// deadline only bounds a failing test: it is generous so that a loaded
/// machine (a build beside the tests, sanitizers) never fails a passing one.
template <class Pred>
bool waitFor(Pred done, int timeoutMs = 15000)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

/// A queued record as a request handler would create it.
inline ExportRecord queuedRecord(const std::string& id, Millis createdAt,
                                 const std::string& owner = "alice",
                                 const std::string& instance = "instance-a")
{
    ExportRecord r;
    r.id = id;
    r.ownerKey = owner;
    r.listKey = owner;
    r.limitKey = owner;
    r.requestKey = "orders|csv|{}|60|" + id; // distinct unless a test says otherwise
    r.status = ExportStatus::Queued;
    r.dataset = "orders";
    r.format = "csv";
    r.filtersJson = "{\"country\":[\"DE\"]}";
    r.retentionSeconds = 60;
    r.createdAt = createdAt;
    r.instanceId = instance;
    return r;
}

inline FileInfo sampleFile(const std::string& id)
{
    return {"orders-" + id + ".csv", 10, 1, "text/csv; charset=utf-8", std::string(64, 'a')};
}

/// Creates `id` and takes it through running to ready, expiring at `expiresAt`.
inline void makeReady(Registry& reg, const std::string& id, Millis at, Millis expiresAt,
                      const std::string& instance = "instance-a")
{
    if (reg.create(queuedRecord(id, at, "owner-" + id, instance), 0).outcome
        != CreateOutcome::Created)
        throw std::runtime_error("create " + id);
    if (!reg.markRunning(id, instance, at)) throw std::runtime_error("markRunning " + id);
    if (!reg.markReady(id, sampleFile(id), at, expiresAt, instance))
        throw std::runtime_error("markReady " + id);
}

/// A well-formed id made from a short tag, padded to 22 characters.
inline std::string testId(const std::string& tag)
{
    // Shaped like newExportId()'s ids (22 characters, the last one of A Q g w),
    // so that the sweeper treats the files as exportd's own.
    std::string id = tag;
    id.resize(21, 'x');
    id += 'A';
    return id;
}

/// Writes a small export file named testId(tag) into `dir`; returns the id.
inline std::string newExportFile(const std::string& dir, const std::string& tag)
{
    const std::string id = testId(tag);
    writeFile(dir + "/" + id);
    return id;
}

} // namespace exportd::cleanup::test
