#include "cleanup/Registry.h"

#include "postgresql/PgRegistry.h"
#include "sqlite/SqliteRegistry.h"

namespace exportd::cleanup {

std::unique_ptr<Registry> openRegistry(const std::string& uri)
{
    const std::string sqlite = "sqlite:";
    if (uri.compare(0, sqlite.size(), sqlite) == 0) {
        std::string path = uri.substr(sqlite.size());
        if (path.empty()) throw RegistryError("registry URI names no file: " + uri);
        return std::make_unique<SqliteRegistry>(path);
    }
    // A libpq URI as it is; "postgresql:" followed by a key=value string.
    for (const char* scheme : {"postgresql://", "postgres://"})
        if (uri.rfind(scheme, 0) == 0) return std::make_unique<PgRegistry>(uri);
    const std::string postgresql = "postgresql:";
    if (uri.compare(0, postgresql.size(), postgresql) == 0)
        return std::make_unique<PgRegistry>(uri.substr(postgresql.size()));
    // The scheme only: the rest may hold a password.
    throw RegistryError("unknown registry scheme '" + uri.substr(0, uri.find(':')) +
                        "' (expected sqlite:<path> or postgresql://...)");
}

} // namespace exportd::cleanup
