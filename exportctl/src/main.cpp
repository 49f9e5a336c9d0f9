// exportctl: the command-line client of exportd (see `exportctl --help`).
#include "ApiClient.h"
#include "Commands.h"
#include "CtlError.h"
#include "Netrc.h"
#include "Options.h"
#include "Progress.h"

#include <json/writer.h>

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

using namespace exportd::ctl;

namespace {

const char* errorName(int exitCode)
{
    switch (exitCode) {
    case EXIT_USAGE: return "usage";
    case EXIT_REFUSED: return "refused";
    case EXIT_FAILED: return "export_failed";
    case EXIT_EXPIRED: return "export_expired";
    case EXIT_NETWORK: return "network_error";
    case EXIT_CHECKSUM: return "sha256_mismatch";
    case EXIT_TIMEOUT: return "timeout";
    default: return "local_error";
    }
}

// Reads a password from the terminal without echo; nullopt without a terminal.
std::optional<std::string> promptPassword(const std::string& user)
{
    FILE* tty = std::fopen("/dev/tty", "r+");
    if (!tty)
        return std::nullopt;
    std::fprintf(tty, "exportctl: password for %s: ", user.c_str());
    std::fflush(tty);
    termios old {};
    const bool canHide = ::tcgetattr(fileno(tty), &old) == 0;
    if (canHide) {
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
    }
    std::string password;
    for (int c; (c = std::fgetc(tty)) != EOF && c != '\n';)
        password += static_cast<char>(c);
    if (canHide)
        ::tcsetattr(fileno(tty), TCSAFLUSH, &old);
    std::fprintf(tty, "\n");
    std::fclose(tty);
    return password;
}

// --user/--password, else the netrc entry for the URL's host, else a prompt.
void resolveCredentials(Options& o, const std::string& host)
{
    if (o.user && o.password)
        return;
    if (o.password && !o.user)
        throw usageError("--password needs --user");
    if (const auto entry = lookupNetrc(o.netrcFile, host, o.user)) {
        o.user = entry->login.empty() ? o.user : std::optional<std::string>(entry->login);
        o.password = entry->password;
        return;
    }
    if (o.user && ::isatty(STDIN_FILENO))
        o.password = promptPassword(*o.user);
}

int fail(const CtlError& e, bool json)
{
    std::cerr << "exportctl: " << e.what() << std::endl;
    if (json) {
        Json::Value body = e.body();
        if (!body.isObject() || !body["error"].isString()) {
            body = Json::Value(Json::objectValue);
            body["error"] = errorName(e.exitCode());
            body["message"] = e.what();
            if (e.body().isObject())
                body["export"] = e.body();
        }
        body["exit_code"] = e.exitCode();
        Json::StreamWriterBuilder w;
        w["indentation"] = "";
        w["emitUTF8"] = true;
        std::cout << Json::writeString(w, body) << std::endl;
    }
    return e.exitCode();
}

} // namespace

int main(int argc, char** argv)
{
    installInterruptCleanup();
    Options options;
    try {
        options = parseOptions(argc, argv);
    } catch (const CtlError& e) {
        std::cerr << "exportctl: " << e.what() << std::endl;
        return e.exitCode();
    }
    if (options.help) {
        std::cout << usageText();
        return EXIT_OK;
    }
    if (options.version) {
        std::cout << "exportctl " EXPORTD_VERSION << std::endl;
        return EXIT_OK;
    }
    try {
        ClientSettings settings;
        settings.url = options.url;
        settings.cookieJar = options.cookieJar;
        settings.caFile = options.caFile;
        settings.requestTimeout = options.requestTimeout;
        ApiClient probe(settings);   // validates the URL before credentials are looked up
        resolveCredentials(options, probe.baseUri().getHost());
        settings.user = options.user;
        settings.password = options.password;
        ApiClient client(settings);
        Progress progress(options.quiet, Progress::stderrIsTerminal());
        Commands commands(options, client, progress, std::cout);
        return commands.run();
    } catch (const CtlError& e) {
        return fail(e, options.json);
    } catch (const std::exception& e) {
        return fail(CtlError(EXIT_LOCAL, std::string("unexpected error: ") + e.what()), options.json);
    }
}
