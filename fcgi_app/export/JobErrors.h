#pragma once

#include <stdexcept>
#include <string>

namespace exportd {

/// How an export job ends early. ExportRunner catches each and records the
/// outcome; all derive from std::exception, so nothing else needs to know them.

/// A failure the client is told about: the export is marked failed with
/// `code` and the sentence `what()`.
class JobFailure : public std::runtime_error {
public:
    JobFailure(std::string code, const std::string& message) : std::runtime_error(message), _code(std::move(code)) {}
    const std::string& code() const { return _code; }

private:
    std::string _code;
};

/// The job ends quietly: cancelled, or the export was deleted meanwhile.
/// `what()` is the reason, for the log.
class JobAbandoned : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The service is stopping: the export is marked failed, code "interrupted".
class JobInterrupted : public std::runtime_error {
public:
    JobInterrupted() : std::runtime_error("interrupted") {}
};

} // namespace exportd
