#include "Deletion.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace exportd::cleanup {

void countDeletion(Metrics& metrics, const std::string& reason, Millis deletedAt, Millis expiresAt)
{
    metrics.increment(family::FILES_DELETED, labelled(family::FILES_DELETED, reason));
    if (expiresAt > 0)
        metrics.observe(family::CLEANUP_LAG, std::max<Millis>(0, deletedAt - expiresAt) / 1000.0);
}

Unlinked unlinkExportFile(const std::string& dir, const std::string& name)
{
    const std::string path = dir + "/" + name;
    if (::unlink(path.c_str()) == 0) return {true, true, {}};
    const int err = errno;
    if (err == ENOENT) return {true, false, {}};
    return {false, false, std::strerror(err)};
}

} // namespace exportd::cleanup
