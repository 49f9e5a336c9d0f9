// Over 400 lines on purpose: the seven commands of exportctl, each short, share
// the output helpers at the top (see docs/exportctl.md).
#include "Commands.h"

#include "CtlError.h"
#include "FilterArgs.h"

#include <json/writer.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

namespace exportd::ctl {

namespace {

// The partial download that a signal handler removes; only written while no
// signal can be handled in between (set before the download, cleared after).
char g_partialPath[4096];

void onInterrupt(int sig)
{
    if (g_partialPath[0])
        ::unlink(g_partialPath);
    static const char NL[] = "\n";
    if (::isatty(STDERR_FILENO))
        (void)!::write(STDERR_FILENO, NL, 1);
    ::_exit(128 + sig);
}

void setPartial(const std::string& path)
{
    if (path.size() >= sizeof g_partialPath)
        g_partialPath[0] = '\0';
    else
        std::memcpy(g_partialPath, path.c_str(), path.size() + 1);
}

void clearPartial()
{
    g_partialPath[0] = '\0';
}

bool isWellFormedId(const std::string& id)
{
    if (id.empty() || id.size() > 64)
        return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
}

std::string requireId(const std::string& id)
{
    if (!isWellFormedId(id))
        throw usageError("'" + id + "' is not an export id (letters, digits, '_' and '-')");
    return id;
}

double retryAfterSeconds(const Reply& reply)
{
    const std::string v = reply.header("Retry-After");
    char* end = nullptr;
    const long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n < 1)
        return 1;
    return static_cast<double>(std::min(n, 60L));
}

std::string field(const Json::Value& v, const char* key)
{
    const Json::Value& x = v[key];
    if (x.isString())
        return x.asString();
    if (x.isNull())
        return "";
    Json::StreamWriterBuilder w;
    w["indentation"] = "";
    return Json::writeString(w, x);
}

// The export's file name as a safe base name: no directory part, no leading dot.
std::string safeBaseName(const std::string& name, const std::string& fallback)
{
    std::string base = name.substr(name.find_last_of('/') == std::string::npos ? 0 : name.find_last_of('/') + 1);
    while (!base.empty() && base[0] == '.')
        base.erase(0, 1);
    return base.empty() ? fallback : base;
}

std::string dirName(const std::string& path)
{
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos)
        return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string seconds(double s)
{
    std::ostringstream text;
    text << s;
    return text.str();
}

bool isDirectory(const std::string& path)
{
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string stateSummary(const Json::Value& e)
{
    const std::string state = e["status"].asString();
    if (state == "ready")
        return "expires in " + std::to_string(e["expires_in_seconds"].asInt64()) + " s";
    if (state == "expired")
        return "expired " + field(e, "expired_at");
    if (state == "deleted")
        return "deleted " + field(e, "deleted_at");
    if (state == "failed")
        return field(e["error"], "code");
    if (state == "running" && e["progress"]["percent"].isNumeric())
        return std::to_string(e["progress"]["percent"].asInt()) + "%";
    if (state == "running" && e["progress"]["rows_written"].isIntegral())
        return groupDigits(e["progress"]["rows_written"].asInt64()) + " rows";
    return "";
}

} // namespace

void installInterruptCleanup()
{
    struct sigaction sa {};
    sa.sa_handler = onInterrupt;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP})
        ::sigaction(sig, &sa, nullptr);
    // A closed stdout or socket is an error to report, not a silent death.
    ::signal(SIGPIPE, SIG_IGN);
}

CtlError errorFromReply(const Reply& reply, const std::string& what)
{
    Json::Value body = reply.json();
    const bool fromExportd = body.isObject() && body["error"].isString();
    if (!fromExportd) {
        // nginx's own answer (failed auth_basic, 502 while exportd is down, ...).
        body = Json::Value(Json::objectValue);
        body["error"] = "http_" + std::to_string(reply.status);
        body["message"] = reply.status == 401 ? "authentication required or wrong: give --user and --password, "
                                                "or a netrc entry for this host"
                                              : "HTTP " + std::to_string(reply.status) + " " + reply.reason;
        body["status"] = reply.status;
    }
    const std::string code = body["error"].asString();
    std::string text = what + ": " + body["message"].asString() + " (" + std::to_string(reply.status) + " " + code;
    if (body["field"].isString())
        text += ", field " + body["field"].asString();
    text += ")";
    const std::string retry = reply.header("Retry-After");
    if (!retry.empty())
        text += "; retry after " + retry + " s";

    int exitCode = EXIT_NETWORK;
    if (reply.status == 410)
        exitCode = EXIT_EXPIRED;
    else if (reply.status == 409 && code == "export_failed")
        exitCode = EXIT_FAILED;
    else if (reply.status >= 400 && reply.status < 500)
        exitCode = EXIT_REFUSED;
    return CtlError(exitCode, text, body);
}

Reply expectStatus(Reply reply, std::initializer_list<int> ok, const std::string& what)
{
    for (int status : ok)
        if (reply.status == status)
            return reply;
    throw errorFromReply(reply, what);
}

int exitCodeOfState(const Json::Value& e)
{
    const std::string state = e["status"].asString();
    if (state == "expired" || state == "deleted")
        return EXIT_EXPIRED;
    if (state == "failed")
        return EXIT_FAILED;
    return EXIT_OK;
}

Commands::Commands(const Options& options, ApiClient& client, Progress& progress, std::ostream& out)
    : _options(options), _client(client), _progress(progress), _out(out)
{
}

void Commands::checkOutput() const
{
    if (!_options.output || *_options.output == "-")
        return;
    const std::string& out = *_options.output;
    const std::string dir = out.back() == '/' ? out : isDirectory(out) ? out : dirName(out);
    // Checked before anything starts: a long wait must not end in "cannot write".
    if (!isDirectory(dir) || ::access(dir.c_str(), W_OK | X_OK) != 0)
        throw CtlError(EXIT_LOCAL, "--output " + out + ": cannot write into directory " + dir + ": " +
                                       std::strerror(isDirectory(dir) ? EACCES : ENOENT));
}

int Commands::run()
{
    checkOutput();
    static const std::map<std::string, int (Commands::*)()> COMMANDS = {
        {"create", &Commands::create},     {"status", &Commands::status},
        {"download", &Commands::download}, {"list", &Commands::list},
        {"delete", &Commands::remove},     {"regenerate", &Commands::regenerate},
        {"datasets", &Commands::datasets}};
    return (this->*COMMANDS.at(_options.command))();
}

std::string Commands::exportPath(const std::string& id) const
{
    return "/api/exports/" + requireId(id);
}

void Commands::printJson(const Json::Value& value) const
{
    Json::StreamWriterBuilder w;
    w["indentation"] = "";
    w["emitUTF8"] = true;
    _out << Json::writeString(w, value) << std::endl;
}

void Commands::printExport(const Json::Value& e) const
{
    if (_options.json) {
        printJson(e);
        return;
    }
    std::ostringstream s;
    auto row = [&s](const std::string& k, const std::string& v) {
        if (!v.empty())
            s << std::left << std::setw(20) << (k + ":") << v << "\n";
    };
    row("id", field(e, "id"));
    row("status", field(e, "status"));
    row("dataset", field(e, "dataset"));
    row("format", field(e, "format"));
    if (e["filters"].isObject() && !e["filters"].empty())
        row("filters", field(e, "filters"));
    row("retention_seconds", field(e, "retention_seconds"));
    row("created_at", field(e, "created_at"));
    row("started_at", field(e, "started_at"));
    if (e["status"].asString() == "running")
        row("progress", stateSummary(e));
    row("ready_at", field(e, "ready_at"));
    row("expires_at", field(e, "expires_at"));
    if (e.isMember("expires_in_seconds"))
        row("expires_in_seconds", field(e, "expires_in_seconds"));
    row("expired_at", field(e, "expired_at"));
    row("file_deleted_at", field(e, "file_deleted_at"));
    row("deleted_at", field(e, "deleted_at"));
    const Json::Value& f = e["file"];
    if (f.isObject()) {
        row("file", field(f, "name") + " (" + humanBytes(f["size_bytes"].asUInt64()) + ", " +
                        groupDigits(f["rows"].asInt64()) + " rows, " + field(f, "content_type") + ")");
        row("sha256", field(f, "sha256"));
    }
    if (e.isMember("download_count"))
        row("download_count", field(e, "download_count"));
    if (e["error"].isObject())
        row("error", field(e["error"], "code") + ": " + field(e["error"], "message"));
    row("message", field(e, "message"));
    _out << s.str() << std::flush;
}

Json::Value Commands::fetchExport(const std::string& id)
{
    const Reply r = expectStatus(_client.get(exportPath(id)), {200}, "export " + id);
    return r.json();
}

int Commands::create()
{
    // The field types decide how "a..b" and "a,b" become JSON.
    const Reply ds = expectStatus(_client.get("/api/datasets"), {200}, "GET /api/datasets");
    bool known = false;
    const FilterFields fields = filterFieldsOf(ds.json(), _options.dataset, &known);

    Json::Value body(Json::objectValue);
    body["dataset"] = _options.dataset;
    if (!_options.format.empty())
        body["format"] = _options.format;
    body["filters"] = parseFilters(_options.filters, fields, known);
    if (_options.retentionSeconds)
        body["retention_seconds"] = static_cast<Json::Int64>(*_options.retentionSeconds);

    const Reply r = expectStatus(_client.post("/api/exports", body), {202, 200}, "create export");
    const Json::Value created = r.json();
    if (r.status == 200)
        _progress.message(created["id"].asString() + ": the same export was already " +
                          created["status"].asString() + "; following it");
    return follow(created, r);
}

int Commands::regenerate()
{
    const std::string id = _options.args[0];
    const Reply r = expectStatus(_client.postEmpty(exportPath(id) + "/regenerate"), {202, 200}, "regenerate " + id);
    return follow(r.json(), r);
}

int Commands::status()
{
    const std::string id = _options.args[0];
    const Reply r = expectStatus(_client.get(exportPath(id)), {200}, "export " + id);
    const Json::Value e = r.json();
    if (_options.wait)
        return follow(e, r);
    printExport(e);
    return exitCodeOfState(e);
}

int Commands::follow(const Json::Value& exportObject, const Reply& reply)
{
    const std::string id = exportObject["id"].asString();
    if (!isWellFormedId(id))
        throw CtlError(EXIT_NETWORK, "the server answered without an export id: " + reply.body.substr(0, 200));
    if (!_options.wait) {
        if (_options.json)
            printJson(exportObject);
        else if (_options.command == "status")
            printExport(exportObject);
        else
            _out << id << std::endl;
        return exitCodeOfState(exportObject);
    }
    Json::Value ready = waitUntilDone(exportObject, reply);
    const Json::Value& f = ready["file"];
    std::string summary = id + " ready: " + field(f, "name") + ", " + humanBytes(f["size_bytes"].asUInt64()) + ", " +
                          groupDigits(f["rows"].asInt64()) + " rows, expires in " +
                          std::to_string(ready["expires_in_seconds"].asInt64()) + " s";
    if (_options.output) {
        const std::string path = save(ready, *_options.output);
        summary += path == "-" ? "; written to stdout, sha256 verified" : "; saved to " + path + ", sha256 verified";
        ready["output"] = path;
    }
    _progress.message(summary);
    const bool fileOnStdout = _options.output && *_options.output == "-";
    if (_options.json && !fileOnStdout)
        printJson(ready);
    else if (!_options.json && !fileOnStdout)
        _out << id << std::endl;
    return EXIT_OK;
}

Json::Value Commands::waitUntilDone(Json::Value e, const Reply& firstReply)
{
    using Clock = std::chrono::steady_clock;
    const bool bounded = _options.timeout > 0;
    const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long long>(_options.timeout * 1000));
    double pause = retryAfterSeconds(firstReply);
    const std::string id = e["id"].asString();
    for (;;) {
        const std::string state = e["status"].asString();
        _progress.exportStatus(e);
        if (state == "ready")
            return e;
        if (state == "expired" || state == "deleted")
            throw CtlError(EXIT_EXPIRED, "export " + id + " is " + state + ": " + e["message"].asString(), e);
        if (state == "failed")
            throw CtlError(EXIT_FAILED, "export " + id + " failed: " + field(e["error"], "message") + " (" +
                                            field(e["error"], "code") + ")", e);
        if (state != "queued" && state != "running")
            throw CtlError(EXIT_NETWORK, "export " + id + " has an unknown status '" + state + "'", e);

        const auto wake = Clock::now() + std::chrono::milliseconds(static_cast<long long>(pause * 1000));
        if (bounded && wake > deadline) {
            _progress.finish();
            throw CtlError(EXIT_TIMEOUT, "export " + id + " is still " + state + " after --timeout " +
                                             seconds(_options.timeout) + " s", e);
        }
        std::this_thread::sleep_until(wake);
        const Reply r = _client.get(exportPath(id));
        if (r.status != 200) {
            _progress.finish();
            throw errorFromReply(r, "export " + id);
        }
        e = r.json();
        pause = retryAfterSeconds(r);
    }
}

std::string Commands::save(const Json::Value& ready, const std::string& output)
{
    const std::string id = ready["id"].asString();
    const Json::Value& f = ready["file"];
    const std::string expectedSha = f["sha256"].asString();
    const std::uint64_t expectedSize = f["size_bytes"].asUInt64();
    const std::string downloadPath = exportPath(id) + "/download";
    auto onProgress = [this, &id](std::uint64_t done, std::int64_t total) { _progress.downloadBytes(id, done, total); };

    if (output == "-") {
        std::cout.flush();
        const auto dl = _client.download(downloadPath, std::cout, onProgress);
        _progress.finish();
        if (dl.reply.status != 200)
            throw errorFromReply(dl.reply, "download " + id);
        std::cout.flush();
        if (!std::cout)
            throw CtlError(EXIT_LOCAL, "cannot write the file to stdout");
        if (dl.sha256 != expectedSha || dl.bytes != expectedSize)
            throw CtlError(EXIT_CHECKSUM, "download " + id + ": the bytes written to stdout do not match (sha256 " +
                                              dl.sha256 + ", expected " + expectedSha + ")");
        return "-";
    }

    std::string dest = output;
    if (dest.back() == '/' || isDirectory(dest))
        dest = (dest.back() == '/' ? dest : dest + "/") + safeBaseName(f["name"].asString(), id);
    const std::string dir = dirName(dest);
    const std::string base = dest.substr(dest.find_last_of('/') == std::string::npos ? 0 : dest.find_last_of('/') + 1);
    const std::string partial = (dir == "/" ? "" : dir) + "/." + base + ".exportctl-" + std::to_string(::getpid()) + ".part";

    // Exported files hold personal data: only their owner may read them.
    const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        throw CtlError(EXIT_LOCAL, "cannot write " + partial + ": " + std::strerror(errno));
    ::close(fd);
    setPartial(partial);
    auto discard = [&partial]() {
        clearPartial();
        ::unlink(partial.c_str());
    };
    ApiClient::Download dl;
    try {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        if (!out)
            throw CtlError(EXIT_LOCAL, "cannot write " + partial + ": " + std::strerror(errno));
        dl = _client.download(downloadPath, out, onProgress);
        out.close();
        if (!out)
            throw CtlError(EXIT_LOCAL, "cannot write " + partial + ": " + std::strerror(errno));
    } catch (...) {
        _progress.finish();
        discard();
        throw;
    }
    _progress.finish();
    if (dl.reply.status != 200) {
        discard();
        throw errorFromReply(dl.reply, "download " + id);
    }
    if (dl.sha256 != expectedSha || dl.bytes != expectedSize) {
        discard();
        Json::Value body(Json::objectValue);
        body["error"] = "sha256_mismatch";
        body["message"] = "the downloaded file does not match the export's sha256 or size; nothing was kept";
        body["expected_sha256"] = expectedSha;
        body["sha256"] = dl.sha256;
        body["expected_size_bytes"] = static_cast<Json::UInt64>(expectedSize);
        body["size_bytes"] = static_cast<Json::UInt64>(dl.bytes);
        throw CtlError(EXIT_CHECKSUM, "download " + id + ": sha256 " + dl.sha256 + " (" + std::to_string(dl.bytes) +
                                          " bytes) does not match " + expectedSha + " (" +
                                          std::to_string(expectedSize) + " bytes); nothing was kept", body);
    }
    if (::rename(partial.c_str(), dest.c_str()) != 0) {
        const int err = errno;
        discard();
        throw CtlError(EXIT_LOCAL, "cannot rename " + partial + " to " + dest + ": " + std::strerror(err));
    }
    clearPartial();
    return dest;
}

int Commands::download()
{
    const std::string id = _options.args[0];
    const Json::Value e = fetchExport(id);
    const std::string state = e["status"].asString();
    if (state == "queued" || state == "running")
        throw CtlError(EXIT_REFUSED, "export " + id + " is " + state + "; wait for it with: exportctl status " + id +
                                         " --wait --output FILE", e);
    if (state != "ready") {
        // The download endpoint's own answer (410 export_expired with its
        // regenerate link, 409 export_failed) is what a script should see.
        std::ostringstream ignored;
        const auto dl = _client.download(exportPath(id) + "/download", ignored,
                                         [](std::uint64_t, std::int64_t) {});
        if (dl.reply.status != 200)
            throw errorFromReply(dl.reply, "download " + id);
        throw CtlError(exitCodeOfState(e), "export " + id + " is " + state, e);
    }
    Json::Value saved = e;
    saved["output"] = save(e, _options.output.value_or("./"));
    _progress.message(id + ": saved to " + saved["output"].asString() + ", sha256 verified");
    if (_options.json && saved["output"].asString() != "-")
        printJson(saved);
    return EXIT_OK;
}

int Commands::list()
{
    const std::string path = "/api/exports" + (_options.limit ? "?limit=" + std::to_string(_options.limit) : "");
    const Reply r = expectStatus(_client.get(path), {200}, "list exports");
    const Json::Value body = r.json();
    if (_options.json) {
        printJson(body);
        return EXIT_OK;
    }
    const Json::Value& exports = body["exports"];
    if (!exports.isArray() || exports.empty()) {
        _progress.message("no exports");
        return EXIT_OK;
    }
    _out << std::left << std::setw(34) << "ID" << std::setw(9) << "STATUS" << std::setw(14) << "DATASET"
         << std::setw(8) << "FORMAT" << std::setw(26) << "CREATED" << "DETAIL" << "\n";
    for (const auto& e : exports)
        _out << std::left << std::setw(34) << field(e, "id") << std::setw(9) << field(e, "status") << std::setw(14)
             << field(e, "dataset") << std::setw(8) << field(e, "format") << std::setw(26) << field(e, "created_at")
             << stateSummary(e) << "\n";
    _out << std::flush;
    return EXIT_OK;
}

int Commands::remove()
{
    const std::string id = _options.args[0];
    const Reply r = expectStatus(_client.remove(exportPath(id)), {200}, "delete " + id);
    const Json::Value e = r.json();
    if (_options.json)
        printJson(e);
    else if (e["status"].asString() == "deleted")
        _out << id << " deleted" << std::endl;
    else
        _out << id << " is " << e["status"].asString() << "; nothing to delete" << std::endl;
    return EXIT_OK;
}

int Commands::datasets()
{
    const Reply r = expectStatus(_client.get("/api/datasets"), {200}, "GET /api/datasets");
    const Json::Value body = r.json();
    if (_options.json) {
        printJson(body);
        return EXIT_OK;
    }
    for (const auto& ds : body["datasets"]) {
        std::string formats;
        for (const auto& f : ds["formats"])
            formats += (formats.empty() ? "" : ", ") + f.asString();
        _out << ds["name"].asString() << " (" << ds["title"].asString() << "): " << formats << "\n";
        for (const auto& f : ds["filters"]) {
            _out << "  --filter " << f["field"].asString() << " (" << f["type"].asString();
            if (f["values"].isArray()) {
                std::string values;
                for (const auto& v : f["values"])
                    values += (values.empty() ? "" : ",") + v.asString();
                _out << ": " << values;
            }
            _out << ")\n";
        }
    }
    _out << std::flush;
    return EXIT_OK;
}

} // namespace exportd::ctl
