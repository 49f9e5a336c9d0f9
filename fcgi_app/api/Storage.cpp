#include "api/Storage.h"

#include "export/RequestError.h"

#include "cleanup/ExportId.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

namespace exportd {

DirUsage directoryUsage(const std::string& dir)
{
    DirUsage usage;
    DIR* d = ::opendir(dir.c_str());
    if (!d)
        return usage;
    while (struct dirent* e = ::readdir(d)) {
        if (!cleanup::parseExportFileName(e->d_name))
            continue;
        struct stat st {};
        if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
            ++usage.files;
            usage.bytes += st.st_size;
        }
    }
    ::closedir(d);
    return usage;
}

void checkStorage(const ApiContext& context, const Identity& who)
{
    const Config& config = context.config;
    struct statvfs fs {};
    if (::statvfs(config.exportsDir.c_str(), &fs) == 0) {
        const auto freeBytes = static_cast<std::int64_t>(fs.f_bavail) * static_cast<std::int64_t>(fs.f_frsize);
        if (freeBytes < config.minFreeBytes)
            throw RequestError(507, "insufficient_storage",
                               "The export storage is nearly full. Please try again later.");
    }
    if (directoryUsage(config.exportsDir).bytes >= config.quotaBytes)
        throw RequestError(507, "insufficient_storage",
                           "The export storage has reached its quota. Please try again once older exports expire.");
    if (context.registry.bytesHeld(who.limitKey) >= config.ownerQuotaBytes)
        throw RequestError(507, "insufficient_storage",
                           "Your exports hold your whole storage quota (" + std::to_string(config.ownerQuotaBytes)
                               + " bytes). Delete older exports or wait for them to expire.");
}

} // namespace exportd
