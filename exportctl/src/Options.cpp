#include "Options.h"

#include "CtlError.h"

#include <Poco/Util/Option.h>
#include <Poco/Util/OptionException.h>
#include <Poco/Util/OptionProcessor.h>
#include <Poco/Util/OptionSet.h>

#include <cstdlib>
#include <functional>
#include <map>

namespace exportd::ctl {

namespace {

const char* const USAGE = R"(exportctl: start, watch, download and discard exportd exports.

Usage:
  exportctl create --dataset NAME [--format csv|ndjson|xlsx] [--filter EXPR]...
                   [--retention SECONDS] [--wait] [--output FILE|DIR/|-]
  exportctl status ID [--wait] [--output FILE|DIR/|-]
  exportctl download ID [--output FILE|DIR/|-]
  exportctl regenerate ID [--wait] [--output FILE|DIR/|-]
  exportctl list [--limit N]
  exportctl delete ID
  exportctl datasets

Filters (--filter, repeatable; the field types come from GET /api/datasets):
  status=shipped,paid              any of (a single value: equals; "\," is a comma)
  created_at=2026-01-01..2026-06-30  a date range, either side may be empty;
                                   created_at=2026-01-01 is that one day
  total_cents=1000..50000          an integer range (either side may be empty)
  total_cents=42                   equals
  customer_email~example.org       contains (case-insensitive), string fields only

Options:
  --url URL            exportd's base URL (env EXPORTD_URL; default http://127.0.0.1:8080);
                       the API is under URL/api/
  --user USER          basic auth user (env EXPORTD_USER)
  --password PASSWORD  basic auth password (env EXPORTD_PASSWORD; prompted on a
                       terminal when --user is given without one)
  --netrc-file FILE    credentials file (default $NETRC or ~/.netrc): "machine HOST
                       login USER password PASS", used when --user/--password are absent
  --cookie-jar FILE    keep exportd's session cookie in FILE (env EXPORTD_COOKIE_JAR),
                       so that `list` shows this script's exports when exportd runs
                       without identities; curl's cookie file format, so one jar
                       can be shared with curl -b FILE -c FILE
  --cacert FILE        trust this CA bundle for https (besides the system's)
  --wait               wait until the export is ready, polling as Retry-After says;
                       a progress bar on a terminal, plain lines otherwise
  -o, --output PATH    download the file when ready (implies --wait) to PATH, into
                       the directory PATH/ under its own name, or to stdout (-);
                       the sha256 and size are checked before the file is kept
  --timeout SECONDS    give up waiting after SECONDS (exit 8); default: no limit
  --request-timeout S  network timeout of each request (default 30)
  --retention SECONDS  ask for a shorter retention than the server's
  --limit N            list: at most N exports (1 to 500)
  --json               print the server's JSON object (or error) on stdout
  -q, --quiet          no progress output
  -h, --help           this text
  --version            exportctl's version

Output: create and regenerate print the export id on stdout (unless the file
goes to stdout); status, list and datasets print a summary; messages and
progress go to stderr. `status` exits with the code of the export's state.

Exit codes:
  0  ok (status: queued, running or ready)
  1  local error (the output file cannot be written, an unreadable netrc)
  2  usage error (bad option, unknown filter field, malformed filter value)
  3  refused: a 4xx answer not listed below (invalid request, unknown dataset,
     401 credentials missing or wrong, 404 not found, 429 too many exports, ...)
  4  the export failed (status failed, 409 export_failed)
  5  the export expired or was deleted (410, status expired or deleted):
     generate a new one, e.g. with `exportctl regenerate ID`
  6  network error or server error (connection refused, timeout, 5xx such as
     502, 503, 507 insufficient storage)
  7  the downloaded file does not match its sha256 or size (nothing is kept)
  8  --timeout passed before the export was ready
)";

double parseSeconds(const std::string& name, const std::string& value)
{
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || !(v >= 0) || v > 1e9)
        throw usageError(name + ": '" + value + "' is not a number of seconds");
    return v;
}

long long parseWhole(const std::string& name, const std::string& value, long long min, long long max)
{
    char* end = nullptr;
    const long long v = std::strtoll(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || v < min || v > max)
        throw usageError(name + ": '" + value + "' is not a whole number from " + std::to_string(min) + " to " +
                         std::to_string(max));
    return v;
}

std::string env(const char* name)
{
    const char* v = std::getenv(name);
    return v ? v : "";
}


/// exportctl's options as Poco sees them: every option may be repeated (the
/// last value wins, --filter collects), one that takes a value requires it.
Poco::Util::OptionSet optionSet()
{
    using Poco::Util::Option;
    Poco::Util::OptionSet set;
    for (const char* name : {"url", "user", "password", "netrc-file", "cookie-jar", "cacert", "request-timeout",
                             "dataset", "format", "filter", "retention", "timeout", "limit"})
        set.addOption(Option(name, "").argument("VALUE").repeatable(true));
    set.addOption(Option("output", "o").argument("PATH").repeatable(true));
    set.addOption(Option("quiet", "q").repeatable(true));
    set.addOption(Option("help", "h").repeatable(true));
    for (const char* name : {"wait", "json", "version"})
        set.addOption(Option(name, "").repeatable(true));
    return set;
}

} // namespace

const char* usageText()
{
    return USAGE;
}

Options parseOptions(int argc, char** argv)
{
    Options o;
    if (!env("EXPORTD_URL").empty())
        o.url = env("EXPORTD_URL");
    if (!env("EXPORTD_USER").empty())
        o.user = env("EXPORTD_USER");
    if (!env("EXPORTD_PASSWORD").empty())
        o.password = env("EXPORTD_PASSWORD");
    o.cookieJar = env("EXPORTD_COOKIE_JAR");

    // Keyed by Poco's full option name.
    const std::map<std::string, std::function<void(const std::string&)>> setters = {
        {"url", [&](const std::string& v) { o.url = v; }},
        {"user", [&](const std::string& v) { o.user = v; }},
        {"password", [&](const std::string& v) { o.password = v; }},
        {"netrc-file", [&](const std::string& v) { o.netrcFile = v; }},
        {"cookie-jar", [&](const std::string& v) { o.cookieJar = v; }},
        {"cacert", [&](const std::string& v) { o.caFile = v; }},
        {"request-timeout", [&](const std::string& v) { o.requestTimeout = parseSeconds("--request-timeout", v); }},
        {"dataset", [&](const std::string& v) { o.dataset = v; }},
        {"format", [&](const std::string& v) { o.format = v; }},
        {"filter", [&](const std::string& v) { o.filters.push_back(v); }},
        {"retention", [&](const std::string& v) { o.retentionSeconds = parseWhole("--retention", v, 1, 1LL << 40); }},
        {"output", [&](const std::string& v) { o.output = v; }},
        {"timeout", [&](const std::string& v) { o.timeout = parseSeconds("--timeout", v); }},
        {"limit", [&](const std::string& v) { o.limit = static_cast<int>(parseWhole("--limit", v, 1, 500)); }},
        {"wait", [&](const std::string&) { o.wait = true; }},
        {"json", [&](const std::string&) { o.json = true; }},
        {"quiet", [&](const std::string&) { o.quiet = true; }},
        {"help", [&](const std::string&) { o.help = true; }},
        {"version", [&](const std::string&) { o.version = true; }},
    };

    const Poco::Util::OptionSet set = optionSet();
    Poco::Util::OptionProcessor processor(set);
    processor.setUnixStyle(true);

    // Poco's OptionProcessor does the splitting: "--name=VALUE", "--name VALUE"
    // and "-o VALUE" (an option that requires an argument takes the next word,
    // whatever it looks like), "--" ending the options, and words that do not
    // begin with '-' (or are "-" or empty) left as arguments. This thin pre-pass
    // keeps what Poco cannot be told:
    //  - a single-dash word longer than two characters is an argument, since
    //    export ids may begin with '-': Poco would take "-EjH..." for an
    //    unknown option and "-oFILE" for -o FILE;
    //  - a long option must be spelt exactly: Poco also accepts abbreviations
    //    (--dat for --dataset), any letter case (--URL) and "--name:VALUE",
    //    which exportctl has always refused as unknown options.
    const auto addArgument = [&o](const std::string& word) {
        if (o.command.empty())
            o.command = word;
        else
            o.args.push_back(word);
    };
    std::string pending;        // the option whose value the next word is ("--dataset"), or ""
    bool onlyArguments = false; // after "--"
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (pending.empty() && !onlyArguments && arg.size() > 2 && arg[0] == '-') {
            if (arg[1] != '-') {
                addArgument(arg);
                continue;
            }
            const std::string longName = arg.substr(2, arg.find('=') - 2);
            if (setters.count(longName) == 0) // "--colour=red" has always been refused for its value
                throw usageError(arg.find('=') != std::string::npos
                                     ? "--" + longName + " takes no value"
                                     : "unknown option " + arg + " (see exportctl --help)");
        }
        std::string name, value;
        bool consumed = false;
        try {
            consumed = processor.process(arg, name, value);
        } catch (const Poco::Util::UnexpectedArgumentException&) {
            throw usageError(arg.substr(0, arg.find('=')) + " takes no value");
        } catch (const Poco::Util::OptionException&) { // "-x": two characters, and no short option
            throw usageError("unknown option " + arg + " (see exportctl --help)");
        }
        if (!consumed) { // an argument, or any word after "--"
            addArgument(arg);
            continue;
        }
        if (arg == "--" && pending.empty()) {
            onlyArguments = true;
            continue;
        }
        if (name.empty()) { // Poco takes the value from the next word
            const bool isShort = arg[1] != '-';
            pending = "--" + set.getOption(arg.substr(isShort ? 1 : 2), isShort).fullName();
            continue;
        }
        pending.clear();
        setters.at(name)(value);
    }
    if (!pending.empty())
        throw usageError(pending + " needs a value");

    if (o.help || o.version)
        return o;

    static const std::map<std::string, std::size_t> ARITY = {
        {"create", 0}, {"status", 1}, {"download", 1}, {"regenerate", 1},
        {"list", 0}, {"delete", 1}, {"datasets", 0}};
    if (o.command.empty())
        throw usageError("no command given (see exportctl --help)");
    const auto arity = ARITY.find(o.command);
    if (arity == ARITY.end())
        throw usageError("unknown command '" + o.command + "' (see exportctl --help)");
    if (o.args.size() != arity->second)
        throw usageError(o.command + (arity->second ? " takes one export id" : " takes no argument"));

    const bool creates = o.command == "create";
    if (creates && o.dataset.empty())
        throw usageError("create needs --dataset NAME");
    if (!creates && (!o.dataset.empty() || !o.format.empty() || !o.filters.empty() || o.retentionSeconds))
        throw usageError("--dataset, --format, --filter and --retention belong to create");
    const bool waits = creates || o.command == "status" || o.command == "regenerate";
    if ((o.wait || o.timeout > 0) && !waits)
        throw usageError("--wait and --timeout belong to create, status and regenerate");
    if (o.output && !waits && o.command != "download")
        throw usageError("--output belongs to create, status, regenerate and download");
    if (o.limit && o.command != "list")
        throw usageError("--limit belongs to list");
    if (o.output && o.output->empty())
        throw usageError("--output needs a path");
    if (o.output && o.command != "download")
        o.wait = true;
    if (o.user && o.user->empty())
        throw usageError("--user needs a name");
    return o;
}

} // namespace exportd::ctl
