#include "cleanup/Registry.h"

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
    throw RegistryError("unknown registry scheme (expected sqlite:<path>): " + uri);
}

} // namespace exportd::cleanup
