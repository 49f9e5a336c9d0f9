#include "cleanup/Metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

namespace exportd::cleanup {

namespace {

const std::vector<double> DEFAULT_BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,   1,    2.5,   5,    10};

// Shortest text that reads back as the same double, as Prometheus parses it.
std::string formatNumber(double v)
{
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, res.ptr);
}

std::string escapeHelp(const std::string& s)
{
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string braced(const std::string& labels)
{
    return labels.empty() ? std::string() : "{" + labels + "}";
}

std::string withLe(const std::string& labels, const std::string& le)
{
    return "{" + (labels.empty() ? std::string() : labels + ",") + "le=\"" + le + "\"}";
}

const char* typeName(MetricType type)
{
    switch (type) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
    }
    return "untyped";
}

} // namespace

Metrics::Metrics()
{
    std::lock_guard<std::mutex> lock(_mutex);
    for (const MetricFamily* def : family::ALL) declareLocked(*def);
}

void Metrics::declare(const MetricFamily& def)
{
    std::lock_guard<std::mutex> lock(_mutex);
    declareLocked(def);
}

void Metrics::declareLocked(const MetricFamily& def)
{
    auto [it, inserted] = _families.try_emplace(std::string(def.name));
    Family& f = it->second;
    f.help = std::string(def.help);
    if (inserted || (f.values.empty() && f.histograms.empty())) { // else keep live data
        f.type = typeName(def.type);
        if (def.type == MetricType::Histogram) {
            std::vector<double> buckets(def.buckets.begin(), def.buckets.end());
            if (buckets.empty()) buckets = DEFAULT_BUCKETS;
            std::sort(buckets.begin(), buckets.end());
            buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
            f.buckets = std::move(buckets);
        }
    }
    // A labelled family shows its series from the start, each at 0, and so
    // never an unlabelled sample.
    for (std::string_view v : def.labelValues) f.values.emplace(labelled(def, v), 0.0);
}

Metrics::Family& Metrics::familyOf(const MetricFamily& def)
{
    auto it = _families.find(def.name);
    if (it != _families.end()) return it->second;
    declareLocked(def);
    return _families.find(def.name)->second;
}

void Metrics::increment(const MetricFamily& def, const std::string& labels, double by)
{
    std::lock_guard<std::mutex> lock(_mutex);
    familyOf(def).values[labels] += by;
}

void Metrics::set(const MetricFamily& def, const std::string& labels, double value)
{
    std::lock_guard<std::mutex> lock(_mutex);
    familyOf(def).values[labels] = value;
}

void Metrics::observe(const MetricFamily& def, double value, const std::string& labels)
{
    std::lock_guard<std::mutex> lock(_mutex);
    Family& f = familyOf(def);
    Histogram& h = f.histograms[labels];
    if (h.counts.empty()) h.counts.assign(f.buckets.size() + 1, 0);
    // Counts are stored per bucket, not cumulative; render() accumulates them.
    auto pos = std::lower_bound(f.buckets.begin(), f.buckets.end(), value);
    h.counts[static_cast<std::size_t>(pos - f.buckets.begin())] += 1;
    h.sum += value;
    h.count += 1;
}

double Metrics::value(const std::string& name, const std::string& labels) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto f = _families.find(name);
    if (f == _families.end()) return 0;
    auto v = f->second.values.find(labels);
    return v == f->second.values.end() ? 0 : v->second;
}

std::uint64_t Metrics::count(const std::string& name, const std::string& labels) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto f = _families.find(name);
    if (f == _families.end()) return 0;
    auto h = f->second.histograms.find(labels);
    return h == f->second.histograms.end() ? 0 : h->second.count;
}

std::string Metrics::render() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    std::ostringstream out;
    for (const auto& [name, f] : _families) {
        if (!f.help.empty()) out << "# HELP " << name << ' ' << escapeHelp(f.help) << '\n';
        out << "# TYPE " << name << ' ' << f.type << '\n';
        if (f.type == "histogram") {
            // An unlabelled histogram with no observations is still shown, all zeros,
            // so that dashboards and alerts see the series from the start.
            std::map<std::string, Histogram> series = f.histograms;
            if (series.empty()) series[""].counts.assign(f.buckets.size() + 1, 0);
            for (const auto& [labels, h] : series) {
                std::uint64_t cumulative = 0;
                for (std::size_t i = 0; i < f.buckets.size(); ++i) {
                    cumulative += h.counts[i];
                    out << name << "_bucket" << withLe(labels, formatNumber(f.buckets[i])) << ' '
                        << cumulative << '\n';
                }
                out << name << "_bucket" << withLe(labels, "+Inf") << ' ' << h.count << '\n';
                out << name << "_sum" << braced(labels) << ' ' << formatNumber(h.sum) << '\n';
                out << name << "_count" << braced(labels) << ' ' << h.count << '\n';
            }
        } else if (f.values.empty()) {
            out << name << " 0\n";
        } else {
            for (const auto& [labels, v] : f.values)
                out << name << braced(labels) << ' ' << formatNumber(v) << '\n';
        }
    }
    return out.str();
}

} // namespace exportd::cleanup
