#pragma once

#include <Poco/Util/ServerApplication.h>

#include <string>

namespace exportd {

/// The exportd process: options (--config, --check-config, --version),
/// configuration, the wiring of registry, scheduler, sweeper, runner, API and
/// FastCGI server, and the signal loop (SIGTERM/SIGINT stop cleanly, SIGHUP
/// reloads the datasets). One instance per process, created by main().
///
/// Signals must be blocked in every thread: main() blocks them before any
/// thread exists, and one loop here takes them with sigwait.
class ExportdApp : public Poco::Util::ServerApplication {
public:
    ExportdApp();

protected:
    void defineOptions(Poco::Util::OptionSet& options) override;
    void handleOption(const std::string& name, const std::string& value) override;
    int main(const std::vector<std::string>& args) override;

private:
    int checkConfig();
    int sweepOnce();
    int serve();

    std::string _configPath = "/etc/exportd/exportd.properties";
    bool _configGiven = false;
    bool _checkOnly = false;
    bool _sweepOnly = false;
    bool _exit = false;
};

/// Blocks the signals exportd handles itself (call first thing in main()).
void blockProcessSignals();

} // namespace exportd
