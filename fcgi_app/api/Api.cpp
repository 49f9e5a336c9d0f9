#include "api/Api.h"

#include "export/ExportRequest.h"
#include "export/JsonText.h"
#include "export/RequestError.h"

#include "cleanup/Sweeper.h"

#include <Poco/Logger.h>

#include <json/reader.h>
#include <json/writer.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstring>

namespace exportd {

using cleanup::ExportRecord;
using cleanup::ExportStatus;
using cleanup::ExportView;
using cleanup::Millis;

namespace {

const char* const EXPIRED_SENTENCE =
    "The export file has expired and been deleted for security reasons. Please generate a new export.";
const char* const DELETED_SENTENCE = "The export file was deleted on request. Please generate a new export.";
const char* const FILES_LOCATION = "/_exportd/files/";

Json::Value parseJsonText(const std::string& text)
{
    Json::CharReaderBuilder builder;
    Json::Value value;
    std::string errors;
    std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    if (!reader->parse(text.data(), text.data() + text.size(), &value, &errors))
        return Json::Value(Json::objectValue);
    return value;
}

Response jsonTextResponse(int status, std::string text)
{
    Response r;
    r.status = status;
    r.setHeader("Content-Type", "application/json");
    r.body = std::move(text);
    r.body += '\n';
    return r;
}

Json::Value optionalTime(const std::optional<Millis>& t)
{
    return t ? Json::Value(cleanup::formatRfc3339(*t)) : Json::Value(Json::nullValue);
}

std::string filterKeys(const Json::Value& filters)
{
    std::string keys;
    if (filters.isObject())
        for (const auto& name : filters.getMemberNames())
            keys += (keys.empty() ? "" : ",") + name;
    return keys.empty() ? "-" : keys;
}

bool isJsonContentType(const std::string& contentType)
{
    std::string ct;
    for (char c : contentType)
        if (c != ' ' && c != '\t')
            ct += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ct == "application/json")
        return true;
    return ct == "application/json;charset=utf-8" || ct == "application/json;charset=\"utf-8\"";
}

// A GET is a new download unless it asks for a range that does not start at
// byte 0: the later parts of a resumed or multi-connection download are the
// same download (README "Downloads"). A Range nginx would ignore counts.
bool startsADownload(const std::string& range)
{
    if (range.compare(0, 6, "bytes=") != 0)
        return true;
    std::size_t i = 6;
    while (i < range.size() && range[i] == ' ')
        ++i;
    if (i < range.size() && range[i] == '-')
        return false; // the last N bytes
    std::size_t j = i;
    while (j < range.size() && range[j] >= '0' && range[j] <= '9')
        ++j;
    if (j == i || j >= range.size() || range[j] != '-')
        return true;
    return std::all_of(range.begin() + static_cast<std::ptrdiff_t>(i), range.begin() + static_cast<std::ptrdiff_t>(j),
                       [](char c) { return c == '0'; });
}

std::string safeFileName(const std::string& name)
{
    std::string out;
    for (char c : name)
        out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') ? c : '_';
    return out.empty() ? "export" : out;
}

} // namespace

DirUsage directoryUsage(const std::string& dir)
{
    DirUsage usage;
    DIR* d = ::opendir(dir.c_str());
    if (!d)
        return usage;
    while (struct dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        std::string id = name.size() > 5 && name.compare(name.size() - 5, 5, ".part") == 0
                             ? name.substr(0, name.size() - 5)
                             : name;
        if (!cleanup::isMintedId(id))
            continue;
        struct stat st {};
        if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
            ++usage.files;
            usage.bytes += st.st_size;
        }
    }
    ::closedir(d);
    return usage;
}

Api::Api(const Config& config, cleanup::Registry& registry, ExportRunner& runner,
         cleanup::CleanupScheduler& scheduler, cleanup::Metrics& metrics,
         const cleanup::Clock& clock, CatalogHolder& catalog, std::string instanceId,
         Poco::Logger& logger)
    : _config(config), _registry(registry), _runner(runner), _scheduler(scheduler),
      _metrics(metrics), _clock(clock), _catalog(catalog), _instanceId(std::move(instanceId)),
      _logger(logger),
      // Every process of the registry signs and verifies with the same key.
      _sessions(registry.sharedSecret("session_cookie", cleanup::newExportId() + cleanup::newExportId()))
{
    _metrics.declare("exportd_exports_created_total", "counter", "Exports accepted (202).");
    _metrics.declare("exportd_requests_total", "counter", "HTTP requests answered, by status.");
    _metrics.declare("exportd_downloads_total", "counter",
                     "Downloads authorised (GET), each counted once: a range request that does not start at byte 0 continues one.");
    _metrics.declare("exportd_download_authorizations_total", "counter",
                     "GET download requests exportd authorised, range requests included.");
    _metrics.declare("exportd_files_deleted_total", "counter", "Export files deleted, by reason.");
    _metrics.declare("exportd_export_files", "gauge", "Export files present in exports_dir.");
    _metrics.declare("exportd_export_bytes", "gauge", "Bytes of export files in exports_dir.");
    _metrics.declare("exportd_pending_cleanups", "gauge", "Ready files still on disk, due or not.");
    _metrics.declare("exportd_oldest_overdue_file_seconds", "gauge",
                     "How long the oldest expired-but-present file has been overdue.");
    registerRoutes();
}

void Api::registerRoutes()
{
    auto bind = [this](Response (Api::*fn)(const Request&, const Identity&)) {
        return [this, fn](const Request& r, const Identity& who, const std::vector<std::string>&) {
            return (this->*fn)(r, who);
        };
    };
    auto bindId = [this](Response (Api::*fn)(const Request&, const Identity&, const std::string&)) {
        return [this, fn](const Request& r, const Identity& who, const std::vector<std::string>& args) {
            return (this->*fn)(r, who, args.at(0));
        };
    };
    _router.add("GET", "/api/datasets", bind(&Api::listDatasets));
    _router.add("POST", "/api/exports", bind(&Api::createExport));
    _router.add("GET", "/api/exports", bind(&Api::listExports));
    _router.add("GET", "/api/exports/{id}", bindId(&Api::getExport));
    _router.add("DELETE", "/api/exports/{id}", bindId(&Api::deleteExport));
    _router.add("GET", "/api/exports/{id}/download", bindId(&Api::download));
    _router.add("HEAD", "/api/exports/{id}/download", bindId(&Api::download));
    _router.add("POST", "/api/exports/{id}/regenerate", bindId(&Api::regenerate));
    _router.add("GET", "/api/health", [this](const Request& r, const Identity&, const std::vector<std::string>&) { return health(r); });
    _router.add("GET", "/api/metrics", [this](const Request& r, const Identity&, const std::vector<std::string>&) { return metrics(r); });
}

Response Api::handle(const Request& request)
{
    Response response;
    Identity who;
    try {
        const auto segments = splitPath(request.path);
        // Health checks and metric scrapes come from machines: they need no
        // credentials (metrics are for loopback only, in the nginx snippet)
        // and are given no session.
        const bool forMachines = segments.size() == 2 && segments[0] == "api"
            && (segments[1] == "health" || segments[1] == "metrics");
        who = resolveIdentity(request, !forMachines);
        if (_config.requireIdentity && who.user.empty() && !forMachines) {
            response = errorResponse(401, "unauthorized", "This service needs you to sign in.");
            response.setHeader("WWW-Authenticate", "Basic realm=\"exportd\"");
        } else {
            response = _router.dispatch(request, who);
        }
    } catch (const RequestError& e) {
        response = errorResponse(e.status(), e.code(), e.what(), e.field());
        for (const auto& [name, value] : e.headers())
            response.setHeader(name, value);
    } catch (const cleanup::RegistryError& e) {
        _logger.error("event=registry_error method=%s path=%s error=\"%s\"", request.method, request.path,
                      std::string(e.what()));
        response = errorResponse(503, "registry_unavailable",
                                 "The export registry is busy or unavailable. Please try again shortly.");
        response.setHeader("Retry-After", "1");
    } catch (const std::exception& e) {
        _logger.error("event=internal_error method=%s path=%s error=\"%s\"", request.method, request.path,
                      std::string(e.what()));
        response = errorResponse(500, "internal_error", "Something went wrong on our side.");
    }
    if (!who.newCookie.empty())
        response.headers.emplace_back("Set-Cookie", SessionCookie::setCookie(request, who.newCookie));
    if (response.header("X-Accel-Redirect").empty()) // the file location adds its own
        response.setHeader("Cache-Control", "no-store");
    _metrics.increment("exportd_requests_total", "code=\"" + std::to_string(response.status) + "\"");
    return response;
}

Identity Api::resolveIdentity(const Request& request, bool mintSession) const
{
    Identity who;
    if (_config.requireIdentity) {
        who.user = request.param(_config.identityParam);
        who.ownerKey = who.listKey = who.limitKey = "user:" + who.user;
        return who;
    }
    // Identity off: any identity param is ignored (nginx fills $remote_user
    // from any Authorization header). The id is the capability; the list and
    // the limits follow the browser's session cookie.
    // Only values exportd signed count; any other is as if absent.
    if (const auto session = _sessions.sessionOf(request)) {
        who.listKey = who.limitKey = "session:" + *session;
        return who;
    }
    // No session: a new one, whose list is empty, so that this request's
    // export joins no one else's (the double-click rule matches by list).
    who.newCookie = mintSession ? _sessions.mint() : std::string();
    who.listKey = "session:" + (mintSession ? who.newCookie : cleanup::newExportId());
    who.limitKey = "addr:" + request.param("REMOTE_ADDR");
    return who;
}

ExportRecord Api::findOwned(const std::string& id, const Identity& who)
{
    auto record = _registry.find(id);
    if (!record || record->ownerKey != who.ownerKey)
        throw RequestError(404, "not_found", "No export with this id exists for you.");
    return std::move(*record);
}

// The export object is written as text, not built as a Json::Value: a status
// poll and the page's list are the hot paths, and jsoncpp's tree and writer
// made them several times slower than the responder baseline
// (bench/RESULTS.md). Keys come in jsoncpp's order (sorted), values in its
// format, so the bytes are those it wrote.
std::string Api::exportText(const ExportRecord& r, Millis now)
{
    std::string o;
    o.reserve(640 + r.filtersJson.size());
    appendExportText(o, r.view(), now);
    return o;
}

void Api::appendExportText(std::string& out, const ExportView& r, Millis now)
{
    const ExportStatus status = r.effectiveStatus(now);
    const bool queued = status == ExportStatus::Queued, running = status == ExportStatus::Running;
    const bool ready = status == ExportStatus::Ready, expired = status == ExportStatus::Expired;
    const bool deleted = status == ExportStatus::Deleted, failed = status == ExportStatus::Failed;
    JsonTextWriter o(out, 1024 + r.filtersJson.size());
    bool first = true;
    auto key = [&o, &first](std::string_view name) {
        o.raw(first ? std::string_view("\"") : std::string_view(",\""));
        first = false;
        o.raw(name);
        o.raw("\":");
    };
    auto time = [&o](const std::optional<Millis>& t) {
        if (t)
            o.time(*t);
        else
            o.raw("null");
    };
    o.raw('{');
    key("created_at"), o.time(r.createdAt);
    key("dataset"), o.quoted(r.dataset);
    if (deleted)
        key("deleted_at"), time(r.deletedAt);
    key("download_count"), o.integer(r.downloadCount);
    if (failed) {
        key("error");
        o.raw("{\"code\":"), o.quoted(r.errorCode);
        o.raw(",\"message\":"), o.quoted(r.errorMessage);
        o.raw('}');
    }
    if (expired)
        key("expired_at"), time(r.expiresAt);
    if (ready || expired) {
        key("expires_at"), time(r.expiresAt);
        const Millis left = ready && r.expiresAt ? *r.expiresAt - now : 0;
        key("expires_in_seconds"), o.integer(left > 0 ? left / 1000 : 0);
    }
    if (failed)
        key("failed_at"), time(r.failedAt);
    if (ready) {
        key("file");
        o.raw("{\"content_type\":"), o.quoted(r.fileContentType);
        o.raw(",\"name\":"), o.quoted(r.fileName);
        o.raw(",\"rows\":"), o.integer(r.fileRows);
        o.raw(",\"sha256\":"), o.quoted(r.fileSha256);
        o.raw(",\"size_bytes\":"), o.integer(r.fileSizeBytes);
        o.raw('}');
    }
    if (expired || deleted)
        key("file_deleted_at"), time(r.fileDeletedAt);
    // Stored as the compact text of the validated filters (startExport).
    key("filters"), o.raw(r.filtersJson.empty() ? std::string_view("{}") : r.filtersJson);
    key("format"), o.quoted(r.format);
    key("id"), o.quoted(r.id);
    // Ids are of the id alphabet (SPEC 2.4): the links need no escaping.
    key("links");
    o.raw("{\"download\":\"/api/exports/"), o.raw(r.id), o.raw("/download\"");
    o.raw(",\"regenerate\":\"/api/exports/"), o.raw(r.id), o.raw("/regenerate\"");
    o.raw(",\"self\":\"/api/exports/"), o.raw(r.id), o.raw("\"}");
    if (expired || deleted)
        key("message"), o.raw('"'), o.raw(expired ? EXPIRED_SENTENCE : DELETED_SENTENCE), o.raw('"');
    if (queued || running) {
        key("progress");
        o.raw("{\"percent\":");
        if (r.rowsTotal && *r.rowsTotal > 0)
            o.raw(Json::valueToString(
                std::min(100.0, std::floor(1000.0 * double(r.rowsWritten) / double(*r.rowsTotal)) / 10.0)));
        else
            o.raw(r.rowsTotal ? "0.0" : "null");
        o.raw(",\"rows_total\":");
        if (r.rowsTotal)
            o.integer(*r.rowsTotal);
        else
            o.raw("null");
        o.raw(",\"rows_written\":"), o.integer(r.rowsWritten);
        o.raw('}');
    }
    if (ready || expired)
        key("ready_at"), time(r.readyAt);
    key("retention_seconds"), o.integer(r.retentionSeconds);
    if (running)
        key("started_at"), time(r.startedAt);
    key("status"), o.quoted(cleanup::toString(status));
    o.raw('}');
}

Response Api::listDatasets(const Request&, const Identity& who)
{
    Json::Value list(Json::arrayValue);
    auto catalog = _catalog.get();
    for (const auto& ds : catalog->all()) {
        if (!ds.allows(who.user))
            continue;
        Json::Value d(Json::objectValue);
        d["name"] = ds.name;
        d["title"] = ds.title;
        Json::Value formats(Json::arrayValue);
        for (const auto& f : supportedFormats())
            formats.append(f);
        d["formats"] = formats;
        Json::Value columns(Json::arrayValue);
        for (const auto& c : ds.columns)
            columns.append(c);
        d["columns"] = columns;
        Json::Value filters(Json::arrayValue);
        for (const auto& f : ds.filters) {
            Json::Value fj(Json::objectValue);
            fj["field"] = f.field;
            switch (f.type) {
            case FilterType::Enum: {
                fj["type"] = "enum";
                Json::Value values(Json::arrayValue);
                for (const auto& v : f.values)
                    values.append(v);
                fj["values"] = values;
                break;
            }
            case FilterType::String: fj["type"] = "string"; break;
            case FilterType::Date: fj["type"] = "date"; break;
            case FilterType::Integer: fj["type"] = "integer"; break;
            }
            filters.append(fj);
        }
        d["filters"] = filters;
        list.append(d);
    }
    Json::Value body(Json::objectValue);
    body["datasets"] = list;
    return jsonResponse(200, body);
}

void Api::checkStorage(const Identity& who) const
{
    struct statvfs fs {};
    if (::statvfs(_config.exportsDir.c_str(), &fs) == 0) {
        const auto freeBytes = static_cast<std::int64_t>(fs.f_bavail) * static_cast<std::int64_t>(fs.f_frsize);
        if (freeBytes < _config.minFreeBytes)
            throw RequestError(507, "insufficient_storage",
                               "The export storage is nearly full. Please try again later.");
    }
    if (directoryUsage(_config.exportsDir).bytes >= _config.quotaBytes)
        throw RequestError(507, "insufficient_storage",
                           "The export storage has reached its quota. Please try again once older exports expire.");
    if (_registry.bytesHeld(who.limitKey) >= _config.ownerQuotaBytes)
        throw RequestError(507, "insufficient_storage",
                           "Your exports hold your whole storage quota (" + std::to_string(_config.ownerQuotaBytes)
                               + " bytes). Delete older exports or wait for them to expire.");
}

Response Api::startExport(const Identity& who, const Dataset& dataset, const std::string& format,
                          const Json::Value& filters, std::int64_t retentionSeconds,
                          const std::string& requestKey)
{
    const std::string filtersJson = toJson(filters.isNull() ? Json::Value(Json::objectValue) : filters);
    if (static_cast<std::int64_t>(filtersJson.size()) > _config.maxFiltersBytes)
        throw RequestError(400, "invalid_request",
                           "The filters are too large to keep (" + std::to_string(filtersJson.size()) +
                               " bytes; at most " + std::to_string(_config.maxFiltersBytes) + ").",
                           "filters");
    checkStorage(who);
    ExportRecord record;
    record.id = cleanup::newExportId();
    record.ownerKey = who.ownerKey;
    record.listKey = who.listKey;
    record.limitKey = who.limitKey;
    record.requestKey = requestKey;
    record.status = ExportStatus::Queued;
    record.dataset = dataset.name;
    record.format = format;
    record.filtersJson = filtersJson;
    record.retentionSeconds = retentionSeconds;
    record.createdAt = _clock.nowMs();
    record.instanceId = _instanceId;

    // The job queue is bounded: a place is held for this job before the
    // record exists, so a refused request creates nothing.
    if (!_runner.reserve(static_cast<std::size_t>(_config.maxQueuedExports))) {
        RequestError error(503, "server_busy",
                           "The server has too many exports waiting to run. Please try again shortly.");
        error.headers()["Retry-After"] = "5";
        throw error;
    }
    struct Reservation {
        ExportRunner& runner;
        ~Reservation() { runner.unreserve(); }
    } reservation{_runner};

    cleanup::CreateLimits limits;
    limits.maxActive = _config.maxActiveExportsPerOwner;
    limits.maxPerWindow = _config.maxExportsPerOwnerPerMinute;
    limits.windowMs = 60 * 1000;
    const auto result = _registry.create(record, limits);
    if (result.outcome == cleanup::CreateOutcome::TooMany) {
        RequestError error(429, "too_many_exports",
                           "You already have " + std::to_string(_config.maxActiveExportsPerOwner) +
                               " exports in progress. Please wait for one to finish.");
        error.headers()["Retry-After"] = "5";
        throw error;
    }
    if (result.outcome == cleanup::CreateOutcome::TooFast) {
        const std::int64_t seconds = std::max<std::int64_t>(1, (result.retryAfterMs + 999) / 1000);
        RequestError error(429, "too_many_requests",
                           "You started " + std::to_string(_config.maxExportsPerOwnerPerMinute) +
                               " exports within a minute, the most allowed. Please try again in " +
                               std::to_string(seconds) + " seconds.");
        error.headers()["Retry-After"] = std::to_string(seconds);
        throw error;
    }
    const Millis now = _clock.nowMs();
    Response response;
    if (result.outcome == cleanup::CreateOutcome::Existing) {
        response = jsonTextResponse(200, exportText(result.record, now));
    } else {
        _runner.submit(result.record);
        _metrics.increment("exportd_exports_created_total");
        _logger.information("event=export_created id=%s dataset=%s format=%s filter_keys=%s retention=%s",
                            record.id, record.dataset, record.format, filterKeys(filters),
                            std::to_string(retentionSeconds));
        response = jsonTextResponse(202, exportText(result.record, now));
        response.setHeader("Retry-After", "1");
    }
    response.setHeader("Location", "/api/exports/" + result.record.id);
    return response;
}

Response Api::createExport(const Request& request, const Identity& who)
{
    if (!isJsonContentType(request.header("content-type")))
        throw RequestError(415, "unsupported_media_type",
                           "Send the export request as JSON with Content-Type: application/json.");
    if (request.bodyTooLarge)
        throw RequestError(413, "body_too_large",
                           "The request body is larger than " + std::to_string(_config.maxBodyBytes) + " bytes.");
    auto catalog = _catalog.get();
    ExportRequest parsed = parseExportRequest(request.body, *catalog, _config.retentionSeconds, who.user);
    const Dataset* dataset = catalog->find(parsed.dataset);
    if (!dataset) // reloaded meanwhile
        throw unknownDataset(parsed.dataset);
    return startExport(who, *dataset, parsed.format, parsed.filters, parsed.retentionSeconds, parsed.canonicalKey);
}

Response Api::listExports(const Request& request, const Identity& who)
{
    int limit = 50;
    std::string text;
    if (request.queryParam("limit", text)) {
        bool digits = !text.empty() && text.size() <= 3 &&
                      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
        limit = digits ? std::stoi(text) : 0;
        if (limit < 1 || limit > 500)
            throw RequestError(400, "invalid_request", "limit must be a whole number from 1 to 500.", "limit");
    }
    std::string body = "{\"exports\":[";
    body.reserve(700 * static_cast<std::size_t>(std::min(limit, 20)) + 16);
    const Millis now = _clock.nowMs();
    if (!who.newCookie.empty() && !_config.requireIdentity) {
        // A browser without a session cookie has made nothing yet.
    } else {
        // Each row is written straight from the registry's read of it.
        struct Writer : cleanup::ListVisitor {
            std::string& body;
            const std::size_t start;
            const Millis now;
            Writer(std::string& b, Millis n) : body(b), start(b.size()), now(n) {}
            void restart() override { body.resize(start); }
            void record(const ExportView& view) override
            {
                if (body.size() > start)
                    body += ',';
                appendExportText(body, view, now);
            }
        } writer(body, now);
        _registry.visitList(who.listKey, limit, writer);
    }
    body += "]}";
    return jsonTextResponse(200, std::move(body));
}

Response Api::getExport(const Request&, const Identity& who, const std::string& id)
{
    const ExportRecord record = findOwned(id, who);
    const Millis now = _clock.nowMs();
    Response response = jsonTextResponse(200, exportText(record, now));
    const auto status = record.effectiveStatus(now);
    if (status == ExportStatus::Queued || status == ExportStatus::Running)
        response.setHeader("Retry-After", "1");
    return response;
}

Response Api::goneResponse(const Request& request, const ExportRecord& record, Millis now)
{
    const bool deleted = record.effectiveStatus(now) == ExportStatus::Deleted;
    const std::string sentence = deleted ? DELETED_SENTENCE : EXPIRED_SENTENCE;
    if (prefersHtml(request)) {
        Response r;
        r.status = 410;
        r.setHeader("Content-Type", "text/html; charset=utf-8");
        const std::string page = htmlEscape(_config.pageUrl);
        r.body = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                 "<title>Export no longer available</title>"
                 "<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em;"
                 "line-height:1.5}a{font-weight:bold}</style></head><body>"
                 "<h1>Export no longer available</h1><p>" +
                 htmlEscape(sentence) + "</p><p><a href=\"" + page + "\">Generate a new export</a></p></body></html>\n";
        return r;
    }
    Json::Value extra(Json::objectValue);
    if (!deleted)
        extra["expired_at"] = optionalTime(record.expiresAt);
    else
        extra["deleted_at"] = optionalTime(record.deletedAt);
    Json::Value links(Json::objectValue);
    links["regenerate"] = "/api/exports/" + record.id + "/regenerate";
    extra["links"] = links;
    return errorResponse(410, deleted ? "export_deleted" : "export_expired", sentence, "", extra);
}

Response Api::download(const Request& request, const Identity& who, const std::string& id)
{
    ExportRecord record = findOwned(id, who);
    Millis now = _clock.nowMs();
    auto status = record.effectiveStatus(now);

    // nginx found no file behind an authorised X-Accel-Redirect (it was deleted
    // a moment after exportd said yes): answer as gone, never with a 404 page.
    if (!request.param("EXPORTD_FILE_GONE").empty()) {
        if (status == ExportStatus::Deleted)
            return goneResponse(request, record, now);
        if (!record.expiresAt)
            return errorResponse(410, "export_expired", EXPIRED_SENTENCE);
        if (status == ExportStatus::Ready)
            record.expiresAt = std::min(*record.expiresAt, now);
        return goneResponse(request, record, std::max(now, *record.expiresAt));
    }

    if (status == ExportStatus::Ready) {
        const bool isHead = request.method == "HEAD";
        const bool counts = !isHead && startsADownload(request.header("range"));
        // The gate: one conditional update decides, at access time. HEAD
        // authorises nothing; a continued range is decided but not counted.
        if (isHead || (counts ? _registry.authorizeDownloadAt(id, _clock) : _registry.checkDownloadAt(id, _clock))) {
            if (!isHead)
                _metrics.increment("exportd_download_authorizations_total");
            if (counts)
                _metrics.increment("exportd_downloads_total");
            Response r;
            r.status = 200;
            r.setHeader("X-Accel-Redirect", std::string(FILES_LOCATION) + id);
            r.setHeader("Content-Type", record.file.contentType);
            // nginx's file location turns this into Content-Disposition (and
            // adds Cache-Control and nosniff): see nginx/exportd.conf.
            r.setHeader("X-Exportd-Disposition", "attachment; filename=\"" + safeFileName(record.file.name) + "\"");
            return r;
        }
        auto again = _registry.find(id);
        if (!again)
            throw RequestError(404, "not_found", "No export with this id exists for you.");
        record = *again;
        now = std::max(_clock.nowMs(), now);
        status = record.effectiveStatus(now);
        if (status == ExportStatus::Ready) // cannot happen: the gate said no
            status = ExportStatus::Expired;
    }
    switch (status) {
    case ExportStatus::Expired:
    case ExportStatus::Deleted:
        return goneResponse(request, record, now);
    case ExportStatus::Queued:
    case ExportStatus::Running: {
        Json::Value extra(Json::objectValue);
        extra["status"] = cleanup::toString(status);
        Response r = errorResponse(409, "not_ready", "The export is not ready yet. Please try again shortly.", "", extra);
        r.setHeader("Retry-After", "1");
        return r;
    }
    case ExportStatus::Failed: {
        Json::Value extra(Json::objectValue);
        extra["status"] = "failed";
        Json::Value err(Json::objectValue);
        err["code"] = record.errorCode;
        err["message"] = record.errorMessage;
        extra["export_error"] = err;
        return errorResponse(409, "export_failed", "The export failed: " + record.errorMessage, "", extra);
    }
    default:
        break;
    }
    return goneResponse(request, record, now);
}

void Api::requireJsonOrEmptyBody(const Request& request) const
{
    if (request.bodyTooLarge)
        throw RequestError(413, "body_too_large",
                           "The request body is larger than " + std::to_string(_config.maxBodyBytes) + " bytes.");
    const std::string ct = request.header("content-type");
    if (request.body.empty() && ct.empty())
        return;
    if (!isJsonContentType(ct))
        throw RequestError(415, "unsupported_media_type", "Send no body, or a JSON one with Content-Type: application/json.");
    if (!request.body.empty()) {
        // The parser POST uses: depth-limited, so a deeply nested body is an
        // answer, not an exception.
        Json::Value ignored;
        std::string error;
        if (!parseStrictJsonValue(request.body, ignored, error))
            throw RequestError(400, "invalid_json", error);
    }
}

Response Api::deleteExport(const Request& request, const Identity& who, const std::string& id)
{
    requireJsonOrEmptyBody(request);
    ExportRecord record = findOwned(id, who);
    const Millis now = _clock.nowMs();
    if (_registry.markDeleted(id, now)) {
        _runner.cancel(id);
        const std::string path = _config.exportsDir + "/" + id;
        bool removed = false;
        for (const std::string& p : {path, path + ".part"})
            if (::unlink(p.c_str()) == 0)
                removed = true;
        // A running job that still writes removes its own .part when it sees the cancel.
        if (_registry.markFileDeleted(id, _clock.nowMs()) && removed)
            _metrics.increment("exportd_files_deleted_total", "reason=\"deleted\"");
        _logger.information("event=export_deleted id=%s previous_status=%s", id,
                            cleanup::toString(record.effectiveStatus(now)));
        if (auto again = _registry.find(id))
            record = *again;
    }
    return jsonTextResponse(200, exportText(record, _clock.nowMs()));
}

Response Api::regenerate(const Request& request, const Identity& who, const std::string& id)
{
    requireJsonOrEmptyBody(request);
    const ExportRecord record = findOwned(id, who);
    auto catalog = _catalog.get();
    const Dataset* dataset = catalog->find(record.dataset);
    if (!dataset || !dataset->allows(who.user))
        throw RequestError(400, "unknown_dataset", "The dataset '" + record.dataset + "' no longer exists.", "dataset");
    const Json::Value filters = parseJsonText(record.filtersJson.empty() ? "{}" : record.filtersJson);
    validateFilters(*dataset, filters);
    const std::int64_t retention = std::min(record.retentionSeconds, _config.retentionSeconds);
    return startExport(who, *dataset, record.format, filters, retention,
                       canonicalKey(record.dataset, record.format, filters, retention));
}

Response Api::health(const Request&)
{
    Json::Value body(Json::objectValue);
    bool ok = true;
    try {
        _registry.ping();
        body["registry"] = "ok";
    } catch (const std::exception& e) {
        // Unauthenticated callers get a sentence; the details (which may name
        // the registry's path or host) go to the log.
        ok = false;
        body["registry"] = "error: unavailable";
        _logger.error("event=health_registry_error error=\"%s\"", std::string(e.what()));
    }
    struct stat st {};
    if (::stat(_config.exportsDir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        ok = false;
        body["export_dir"] = "error: missing";
    } else if (::access(_config.exportsDir.c_str(), W_OK | X_OK) != 0) {
        ok = false;
        body["export_dir"] = std::string("error: ") + std::strerror(errno);
        _logger.error("event=health_export_dir_error error=\"%s\"", std::string(std::strerror(errno)));
    } else {
        body["export_dir"] = "ok";
    }
    body["pending_cleanups"] = Json::Int64(_scheduler.pending());
    body["status"] = ok ? "ok" : "unavailable";
    return jsonResponse(ok ? 200 : 503, body);
}

Response Api::metrics(const Request&)
{
    const DirUsage usage = directoryUsage(_config.exportsDir);
    _metrics.set("exportd_export_files", "", double(usage.files));
    _metrics.set("exportd_export_bytes", "", double(usage.bytes));
    const Millis now = _clock.nowMs();
    try {
        _metrics.set("exportd_pending_cleanups", "", double(_registry.countPendingCleanups()));
        auto oldest = _registry.oldestOverdue(now);
        _metrics.set("exportd_oldest_overdue_file_seconds", "", oldest ? double(now - *oldest) / 1000.0 : 0.0);
    } catch (const cleanup::RegistryError& e) {
        _logger.warning("event=metrics_registry_error error=\"%s\"", std::string(e.what()));
    }
    Response r;
    r.status = 200;
    r.setHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r.body = _metrics.render();
    return r;
}

} // namespace exportd
