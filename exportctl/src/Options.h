#pragma once

#include <optional>
#include <string>
#include <vector>

namespace exportd::ctl {

/// Everything the command line and the environment say, parsed once in main()
/// and read-only afterwards.
struct Options {
    std::string command;                 ///< create, status, download, list, delete, regenerate, datasets
    std::vector<std::string> args;       ///< positional arguments after the command (the id)

    // Where and who.
    std::string url = "http://127.0.0.1:8080";
    std::optional<std::string> user;
    std::optional<std::string> password;
    std::string netrcFile;               ///< "" = $NETRC or ~/.netrc, read only when present
    std::string cookieJar;               ///< keeps the session cookie across runs (demo mode)
    std::string caFile;                  ///< extra CA bundle for https
    double requestTimeout = 30;          ///< seconds, for each HTTP request

    // create.
    std::string dataset;
    std::string format;
    std::vector<std::string> filters;    ///< "field=value", "field~text"
    std::optional<long long> retentionSeconds;

    // Waiting and downloading.
    bool wait = false;
    std::optional<std::string> output;   ///< a file, a directory (ending in /), or "-" for stdout
    double timeout = 0;                  ///< seconds to wait for ready; 0 = no limit
    int limit = 0;                       ///< list --limit; 0 = the server's default

    // Presentation.
    bool json = false;
    bool quiet = false;
    bool help = false;
    bool version = false;
};

/// Parses argv (options may stand anywhere, as --name VALUE or --name=VALUE)
/// and the environment (EXPORTD_URL, EXPORTD_USER, EXPORTD_PASSWORD,
/// EXPORTD_COOKIE_JAR). Throws CtlError(EXIT_USAGE) with a message.
Options parseOptions(int argc, char** argv);

/// The text of `exportctl --help`, exit codes included.
const char* usageText();

} // namespace exportd::ctl
