#pragma once

#include "ApiClient.h"
#include "CtlError.h"
#include "Options.h"
#include "Progress.h"

#include <json/value.h>

#include <initializer_list>
#include <ostream>
#include <string>

namespace exportd::ctl {

/// Carries out one exportctl command against exportd: builds the request,
/// maps each answer to output and an exit code (CtlError for the outcomes that
/// end the run), waits with Retry-After, downloads and verifies files. Lives
/// for one run, on the main thread.
class Commands {
public:
    Commands(const Options& options, ApiClient& client, Progress& progress, std::ostream& out);

    /// The exit code of the command (see CtlError.h); throws CtlError.
    int run();

private:
    void checkOutput() const;
    int create();
    int status();
    int download();
    int list();
    int remove();
    int regenerate();
    int datasets();

    /// After a create/regenerate/status answer: wait (if asked), download (if
    /// asked) and print.
    int follow(const Json::Value& exportObject, const Reply& reply);
    Json::Value waitUntilDone(Json::Value exportObject, const Reply& firstReply);
    /// Downloads a ready export to `output` (a file, a directory, "-" for
    /// stdout), checks sha256 and size; returns the path written.
    std::string save(const Json::Value& ready, const std::string& output);
    Json::Value fetchExport(const std::string& id);

    void printJson(const Json::Value& value) const;
    void printExport(const Json::Value& e) const;
    std::string exportPath(const std::string& id) const;

    const Options& _options;
    ApiClient& _client;
    Progress& _progress;
    std::ostream& _out;
};

/// The CtlError for an HTTP answer that is not a success (docs/api.md, Errors): 410 -> 5,
/// 409 export_failed -> 4, other 4xx -> 3, 5xx -> 6, with the server's message.
CtlError errorFromReply(const Reply& reply, const std::string& what);

/// `reply` when its status is one of `ok`, else errorFromReply(reply, what).
Reply expectStatus(Reply reply, std::initializer_list<int> ok, const std::string& what);

/// The exit code that an export's state stands for: ready/queued/running 0,
/// expired/deleted 5, failed 4.
int exitCodeOfState(const Json::Value& exportObject);

/// Removes the partial download, if any, when a signal ends the run.
void installInterruptCleanup();

} // namespace exportd::ctl
