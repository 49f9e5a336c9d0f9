#pragma once

// The PostgreSQL test server of the unit tests: EXPORTD_TEST_PG_URI names
// one (ctest starts it with tests/pg/server.sh, label postgresql), and each
// test gets a schema of its own in it. A test that must stop a server starts
// its own (PrivateServer).

#include "../TestSupport.h"

#include "cleanup/postgresql/Connection.h"

#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace exportd::cleanup::test {

inline std::string testServerUri()
{
    const char* uri = std::getenv("EXPORTD_TEST_PG_URI");
    if (!uri || !*uri)
        CPPUNIT_FAIL("EXPORTD_TEST_PG_URI is not set: run these tests through ctest -L postgresql, or start a "
                     "server with tests/pg/server.sh and set it to the URI it prints");
    return uri;
}

/// `uri` (a libpq URI) with a connect timeout longer than exportd's 3 s: on
/// a loaded test machine (a build beside the tests) starting a backend took
/// longer.
inline std::string patient(const std::string& uri)
{
    return uri + (uri.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=10";
}

/// `uri` (a libpq URI) with its search_path set to `schema`.
inline std::string withSearchPath(const std::string& uri, const std::string& schema)
{
    return uri + (uri.find('?') == std::string::npos ? "?" : "&") + "options=-c%20search_path%3D" + schema;
}

/// A schema of its own in the test server, dropped with everything in it on
/// destruction; uri() connects to it.
class TestSchema {
public:
    TestSchema()
    {
        static std::atomic<int> counter{0};
        _name = "t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
        postgresql::Connection c(patient(testServerUri()));
        c.exec("DROP SCHEMA IF EXISTS " + _name + " CASCADE; CREATE SCHEMA " + _name);
    }
    ~TestSchema()
    {
        try {
            postgresql::Connection c(patient(testServerUri()));
            c.exec("DROP SCHEMA IF EXISTS " + _name + " CASCADE");
        } catch (const std::exception& e) {
            std::fprintf(stderr, "cannot drop schema %s: %s\n", _name.c_str(), e.what());
        }
    }
    TestSchema(const TestSchema&) = delete;
    TestSchema& operator=(const TestSchema&) = delete;

    const std::string& name() const { return _name; }
    std::string uri() const { return patient(withSearchPath(testServerUri(), _name)); }

private:
    std::string _name;
};

/// A PostgreSQL server of this test's own (tests/pg/server.sh in a temporary
/// directory), which the test may stop and start; stopped on destruction.
class PrivateServer {
public:
    PrivateServer()
    {
        // The server runs as postgres when the tests run as root.
        ::chmod(_dir.path().c_str(), 0755);
        _uri = run("start");
    }
    ~PrivateServer() { run("stop"); }
    PrivateServer(const PrivateServer&) = delete;
    PrivateServer& operator=(const PrivateServer&) = delete;

    const std::string& uri() const { return _uri; }
    void stop() { run("stop"); }
    void start() { run("start"); }

private:
    std::string run(const std::string& action)
    {
        const std::string cmd = std::string(EXPORTD_SOURCE_DIR) + "/tests/pg/server.sh " + action + " '"
                                + _dir.path() + "/pg'";
        std::string out;
        if (FILE* p = ::popen(cmd.c_str(), "r")) {
            char buf[512];
            while (std::fgets(buf, sizeof buf, p)) out += buf;
            if (::pclose(p) != 0) throw std::runtime_error(cmd + " failed");
        }
        while (!out.empty() && out.back() == '\n') out.pop_back();
        return out;
    }

    TempDir _dir;
    std::string _uri;
};

} // namespace exportd::cleanup::test
