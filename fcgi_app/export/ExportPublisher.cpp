#include "export/ExportPublisher.h"

#include "export/RegistryRetry.h"

#include "export/Dataset.h"
#include "export/JobErrors.h"
#include "export/RowWriter.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace exportd {

namespace {

void fsyncDirectory(const std::string& dir)
{
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        throw WriteError("cannot open " + dir + ": " + std::strerror(errno), false);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0)
        throw WriteError("cannot fsync " + dir + ": " + std::strerror(err), err == ENOSPC || err == EDQUOT);
}

} // namespace

void ExportPublisher::publish(const cleanup::ExportRecord& record, const JobOutput& output, JobFiles& files,
                              const std::function<void()>& checkStop) const
{
    const std::string& partPath = files.partPath;
    if (_fileGid >= 0 && ::chown(partPath.c_str(), static_cast<uid_t>(-1), static_cast<gid_t>(_fileGid)) != 0)
        throw WriteError("cannot give " + partPath + " its group: " + std::strerror(errno), false);
    if (::chmod(partPath.c_str(), 0640) != 0)
        throw WriteError("cannot chmod " + partPath + ": " + std::strerror(errno), false);
    checkStop();
    if (::rename(partPath.c_str(), files.finalPath.c_str()) != 0)
        throw WriteError("cannot rename " + partPath + ": " + std::strerror(errno), false);
    files.partCreated = false;
    files.finalCreated = true;
    fsyncDirectory(_exportsDir);

    // The file is complete: a registry away for a moment must not cost it
    // (RegistryRetry.h). Its times are taken when the registry takes them, so
    // a wait never shortens its retention nor lengthens its life.
    const auto never = [] { return false; };
    if (!retryRegistryWrite([&] { return _registry.updateProgress(record.id, output.rows, output.total); }, never))
        throw JobAbandoned("deleted");
    cleanup::FileInfo file;
    file.name = record.dataset + "-" + cleanup::formatCompactUtc(record.createdAt) + "." + extensionFor(record.format);
    file.sizeBytes = static_cast<std::int64_t>(output.bytes);
    file.rows = output.rows;
    file.contentType = contentTypeFor(record.format);
    file.sha256 = output.sha256;
    cleanup::Millis expiresAt = 0;
    const bool ready = retryRegistryWrite(
        [&] {
            const cleanup::Millis readyAt = _clock.nowMs();
            expiresAt = readyAt + record.retentionSeconds * 1000;
            return _registry.markReady(record.id, file, readyAt, expiresAt, _instanceId);
        },
        never);
    if (!ready)
        throw JobAbandoned("deleted before it was ready");
    files.finalCreated = false;
    _scheduler.schedule(record.id, expiresAt);
}

} // namespace exportd
