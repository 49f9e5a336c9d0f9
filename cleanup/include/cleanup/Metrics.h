#pragma once

#include "cleanup/MetricFamilies.h"

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace exportd::cleanup {

/// Process-wide counters, gauges and histograms, rendered in the Prometheus
/// text exposition format. Thread-safe; one instance lives as long as the
/// application and is shared by reference.
///
/// Every family exportd has is declared in cleanup/MetricFamilies.h and shown
/// from construction on (labelled families with their declared series at 0).
/// Labels are passed pre-rendered, e.g. `reason="expired"` (without braces;
/// labelled() writes them).
class Metrics {
public:
    /// Declares every family of family::ALL.
    Metrics();

    /// Declares `family` (HELP, type, buckets, declared series); idempotent: a
    /// second declaration keeps the values. Needed only for a family outside
    /// family::ALL (tests).
    void declare(const MetricFamily& family);

    void increment(const MetricFamily& family, const std::string& labels = "", double by = 1.0);
    void set(const MetricFamily& family, const std::string& labels, double value);
    void observe(const MetricFamily& family, double value, const std::string& labels = "");

    /// The current value of a counter or gauge (0 when never touched); for tests.
    double value(const std::string& name, const std::string& labels = "") const;
    /// Number of observations of a histogram; for tests.
    std::uint64_t count(const std::string& name, const std::string& labels = "") const;

    std::string render() const;

private:
    struct Histogram {
        std::vector<std::uint64_t> counts; // one per bucket, plus +Inf
        double sum = 0;
        std::uint64_t count = 0;
    };
    struct Family {
        std::string type;
        std::string help;
        std::vector<double> buckets;
        std::map<std::string, double> values;        // counters, gauges
        std::map<std::string, Histogram> histograms; // histograms
    };
    /// The family of `def`, declared first if new. Call with _mutex held.
    Family& familyOf(const MetricFamily& def);
    void declareLocked(const MetricFamily& def);

    mutable std::mutex _mutex;
    std::map<std::string, Family, std::less<>> _families;
};

} // namespace exportd::cleanup
