#pragma once

#include <json/value.h>

#include <stdexcept>
#include <string>

namespace exportd::ctl {

/// exportctl's exit codes; `exportctl --help` and docs/exportctl.md list them.
enum ExitCode : int {
    EXIT_OK = 0,
    EXIT_LOCAL = 1,      ///< a local problem: the output file cannot be written, a bad netrc
    EXIT_USAGE = 2,      ///< bad command line
    EXIT_REFUSED = 3,    ///< a 4xx other than those below: 400, 401, 404, 413, 415, 429, ...
    EXIT_FAILED = 4,     ///< the export failed (status failed, 409 export_failed)
    EXIT_EXPIRED = 5,    ///< the export expired or was deleted (410, status expired/deleted)
    EXIT_NETWORK = 6,    ///< network error, timeout of one request, 5xx (502, 503, 507, ...)
    EXIT_CHECKSUM = 7,   ///< the downloaded bytes do not match file.sha256 / size_bytes
    EXIT_TIMEOUT = 8,    ///< --timeout passed while waiting for the export
};

/// The one exception exportctl throws for an outcome that ends the program:
/// an exit code, a sentence for a person and, where there is one, the JSON
/// body that --json prints (the server's error object, or one made locally).
class CtlError : public std::runtime_error {
public:
    CtlError(int exitCode, const std::string& message, Json::Value body = Json::Value())
        : std::runtime_error(message), _exitCode(exitCode), _body(std::move(body))
    {
    }

    int exitCode() const { return _exitCode; }
    const Json::Value& body() const { return _body; }

private:
    int _exitCode;
    Json::Value _body;
};

inline CtlError usageError(const std::string& message)
{
    return CtlError(EXIT_USAGE, message);
}

} // namespace exportd::ctl
