#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace exportd::cleanup {

/// Process-wide counters, gauges and histograms, rendered in the Prometheus
/// text exposition format. Thread-safe; one instance lives as long as the
/// application and is shared by reference.
///
/// Labels are passed pre-rendered, e.g. `reason="expired"` (without braces).
class Metrics {
public:
    Metrics();

    /// Declares a metric's HELP text and type ("counter", "gauge", "histogram").
    /// Histograms need their upper bounds (ascending, +Inf implied).
    void declare(const std::string& name, const std::string& type, const std::string& help,
                 std::vector<double> buckets = {});

    /// Shows a labelled family's series from the start, each at 0: one per
    /// value of `label`. A family declared so never shows an unlabelled sample.
    void declareSeries(const std::string& name, const std::string& label, const std::vector<std::string>& values);

    void increment(const std::string& name, const std::string& labels = "", double by = 1.0);
    void set(const std::string& name, const std::string& labels, double value);
    void observe(const std::string& name, double value, const std::string& labels = "");

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
    mutable std::mutex _mutex;
    std::map<std::string, Family> _families;
};

} // namespace exportd::cleanup
