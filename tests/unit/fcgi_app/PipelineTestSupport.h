#pragma once

#include "export/Dataset.h"

#include <Poco/Crypto/DigestEngine.h>
#include <Poco/DigestEngine.h>

#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace exportd::test {

/// A fresh directory under /tmp, removed with everything in it on destruction.
class PipelineTempDir {
public:
    PipelineTempDir()
    {
        char templ[] = "/tmp/pipeline-test-XXXXXX";
        if (!::mkdtemp(templ))
            throw std::runtime_error("mkdtemp failed");
        _path = templ;
    }
    ~PipelineTempDir()
    {
        const std::string cmd = "rm -rf '" + _path + "'";
        if (std::system(cmd.c_str()) != 0)
            std::fprintf(stderr, "cannot remove %s\n", _path.c_str());
    }
    PipelineTempDir(const PipelineTempDir&) = delete;
    PipelineTempDir& operator=(const PipelineTempDir&) = delete;

    const std::string& path() const { return _path; }
    std::string file(const std::string& name) const { return _path + "/" + name; }

private:
    std::string _path;
};

inline void execSql(sqlite3* db, const std::string& sql)
{
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "?";
        sqlite3_free(err);
        throw std::runtime_error("SQL failed: " + msg + " in " + sql);
    }
}

/// Creates `path` with the given SQL script run in one transaction.
inline void makeDatabase(const std::string& path, const std::string& script)
{
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK)
        throw std::runtime_error("cannot create " + path);
    try {
        execSql(db, "BEGIN;" + script + ";COMMIT;");
    } catch (...) {
        sqlite3_close(db);
        throw;
    }
    sqlite3_close(db);
}

/// An `orders` table shaped like the demo's, with `rows` generated rows.
inline void makeOrdersDatabase(const std::string& path, int rows)
{
    makeDatabase(path,
                 "CREATE TABLE orders (id INTEGER PRIMARY KEY, created_at TEXT, customer_email TEXT, "
                 "customer_name TEXT, country TEXT, status TEXT, total_cents INTEGER, currency TEXT);"
                 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < "
                     + std::to_string(rows)
                     + ") INSERT INTO orders SELECT i, strftime('%Y-%m-%dT%H:%M:%SZ', 1704067200 + i * 3600, "
                       "'unixepoch'), 'user' || i || '@example.org', 'Name, ' || i, "
                       "CASE i % 3 WHEN 0 THEN 'DE' WHEN 1 THEN 'FR' ELSE 'US' END, "
                       "CASE i % 2 WHEN 0 THEN 'paid' ELSE 'shipped' END, i * 100, 'EUR' FROM n");
}

/// datasets.json for an `orders` dataset over `dbPath` with the demo's filters.
inline std::string ordersCatalogJson(const std::string& dbPath, const std::string& extra = "")
{
    return R"({"datasets": {"orders": {"title": "Orders", "source": "sqlite:)" + dbPath + R"(",
        "table": "orders",
        "columns": ["id", "created_at", "customer_email", "customer_name", "country", "status", "total_cents", "currency"],
        "order_by": "id",
        "filters": {
          "status": {"type": "enum", "values": ["pending", "paid", "shipped", "refunded", "cancelled"]},
          "country": {"type": "string"},
          "customer_email": {"type": "string"},
          "created_at": {"type": "date", "date_storage": "iso8601-utc-text"},
          "total_cents": {"type": "integer"}})"
        + extra + "}}}";
}

inline std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

inline std::string sha256Hex(const std::string& bytes)
{
    Poco::Crypto::DigestEngine engine("SHA256");
    engine.update(bytes.data(), bytes.size());
    return Poco::DigestEngine::digestToHex(engine.digest());
}

inline bool fileExists(const std::string& path)
{
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

inline unsigned fileMode(const std::string& path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return 0;
    return st.st_mode & 07777;
}

/// stdout of a shell command.
inline std::string runCommand(const std::string& cmd)
{
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p)
        return out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    ::pclose(p);
    return out;
}

inline std::size_t countOccurrences(const std::string& haystack, const std::string& needle)
{
    std::size_t n = 0;
    for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1))
        ++n;
    return n;
}

} // namespace exportd::test
