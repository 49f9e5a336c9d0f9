#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace exportd::cleanup {

enum class MetricType { Counter, Gauge, Histogram };

/// A read-only view of a constant array (C++17 has no std::span).
template <class T>
struct ConstSpan {
    const T* first = nullptr;
    std::size_t size = 0;
    constexpr ConstSpan() = default;
    template <std::size_t N>
    constexpr ConstSpan(const T (&array)[N]) : first(array), size(N) {}
    constexpr const T* begin() const { return first; }
    constexpr const T* end() const { return first + size; }
};

/// One metric family, declared once, here: its name, type, HELP text,
/// histogram buckets (ascending, +Inf implied; none: the default buckets) and,
/// for a labelled family, its label's name and the values whose series show
/// from the start, each at 0. Metrics takes these, never a name as a string,
/// so a misspelt family does not compile.
struct MetricFamily {
    std::string_view name;
    MetricType type;
    std::string_view help;
    ConstSpan<double> buckets{};
    std::string_view label{};
    ConstSpan<std::string_view> labelValues{};
};

namespace family {

inline constexpr std::string_view FORMATS[] = {"csv", "ndjson", "xlsx"};
inline constexpr std::string_view FAILURE_CODES[] = {
    "interrupted", "source_error", "internal_error", "invalid_request", "too_many_rows", "disk_full", "quota_exceeded"};
inline constexpr std::string_view DELETION_REASONS[] = {"expired", "deleted", "sweep", "orphan"};
inline constexpr double EXPORT_DURATION_BUCKETS[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
// Buckets start at 1 ms: the timer's promise is deletion within a second of
// expiry, so the interesting detail is below that.
inline constexpr double CLEANUP_LAG_BUCKETS[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1,
                                                 0.25,  0.5,   1,     2.5,  5,    10,   30, 60};

// --- HTTP API ------------------------------------------------------------
inline constexpr MetricFamily REQUESTS{"exportd_requests_total", MetricType::Counter,
                                       "HTTP requests answered, by status.", {}, "code"};
inline constexpr MetricFamily EXPORTS_CREATED{"exportd_exports_created_total", MetricType::Counter,
                                              "Exports accepted (202)."};
inline constexpr MetricFamily DOWNLOADS{
    "exportd_downloads_total", MetricType::Counter,
    "Downloads authorised (GET), each counted once: a range request that does not start at byte 0 continues one."};
inline constexpr MetricFamily DOWNLOAD_AUTHORIZATIONS{
    "exportd_download_authorizations_total", MetricType::Counter,
    "GET download requests exportd authorised, range requests included."};

// --- exports ---------------------------------------------------------------
inline constexpr MetricFamily EXPORTS_COMPLETED{"exportd_exports_completed_total", MetricType::Counter,
                                                "Exports that became ready, by format.", {}, "format", FORMATS};
inline constexpr MetricFamily EXPORTS_FAILED{"exportd_exports_failed_total", MetricType::Counter,
                                             "Exports that failed, by error code.", {}, "code", FAILURE_CODES};
inline constexpr MetricFamily EXPORT_DURATION{"exportd_export_duration_seconds", MetricType::Histogram,
                                              "Time from a job's start to its file being ready, in seconds.",
                                              EXPORT_DURATION_BUCKETS};

// --- files and cleanup (a table: entries look alike by design) ---------------
inline constexpr MetricFamily FILES_DELETED{"exportd_files_deleted_total", MetricType::Counter,
                                            "Export files deleted, by reason.", {}, "reason", DELETION_REASONS};
inline constexpr MetricFamily CLEANUP_LAG{"exportd_cleanup_lag_seconds", MetricType::Histogram,
                                          "Seconds between an export's expires_at and the deletion of its file.",
                                          CLEANUP_LAG_BUCKETS};
inline constexpr MetricFamily CLEANUP_FAILURES{"exportd_cleanup_failures_total", MetricType::Counter,
                                               "Failed attempts to delete an export file or record its deletion."};
inline constexpr MetricFamily LAST_SWEEP{"exportd_last_sweep_timestamp_seconds", MetricType::Gauge,
                                         "Unix time at which the last sweep finished."};
inline constexpr MetricFamily EXPORT_FILES{"exportd_export_files", MetricType::Gauge,
                                           "Export files present in exports_dir."};
inline constexpr MetricFamily EXPORT_BYTES{"exportd_export_bytes", MetricType::Gauge,
                                           "Bytes of export files in exports_dir."};
inline constexpr MetricFamily PENDING_CLEANUPS{"exportd_pending_cleanups", MetricType::Gauge,
                                               "Ready files still on disk, due or not."};
inline constexpr MetricFamily OLDEST_OVERDUE_FILE{"exportd_oldest_overdue_file_seconds", MetricType::Gauge,
                                                  "How long the oldest expired-but-present file has been overdue."};
inline constexpr MetricFamily EXPIRY_WATCH_FAILURES{
    "exportd_expiry_watch_failures_total", MetricType::Counter,
    "Reads of the registry's pending exports by the expiry watcher that failed (retried at its next poll)."};

// --- the registry's clock (cleanup::RegistryClock) ---------------------------
inline constexpr MetricFamily REGISTRY_CLOCK_OFFSET{
    "exportd_registry_clock_offset_seconds", MetricType::Gauge,
    "The registry's clock minus this host's system clock, as last measured; exportd keeps the registry's time."};
inline constexpr MetricFamily REGISTRY_CLOCK_AGE{"exportd_registry_clock_offset_age_seconds", MetricType::Gauge,
                                                 "Seconds since the offset to the registry's clock was measured."};

/// Every family above: what Metrics declares when constructed.
inline constexpr const MetricFamily* ALL[] = {
    &REQUESTS,      &EXPORTS_CREATED, &DOWNLOADS,        &DOWNLOAD_AUTHORIZATIONS, &EXPORTS_COMPLETED,
    &EXPORTS_FAILED, &EXPORT_DURATION, &FILES_DELETED,    &CLEANUP_LAG,             &CLEANUP_FAILURES,
    &LAST_SWEEP,    &EXPORT_FILES,    &EXPORT_BYTES,     &PENDING_CLEANUPS,        &OLDEST_OVERDUE_FILE,
    &EXPIRY_WATCH_FAILURES, &REGISTRY_CLOCK_OFFSET, &REGISTRY_CLOCK_AGE,
};

} // namespace family

/// `label="value"` for `family`'s label, as increment() and friends take it.
inline std::string labelled(const MetricFamily& family, std::string_view value)
{
    std::string out(family.label);
    out += "=\"";
    out += value;
    out += '"';
    return out;
}

} // namespace exportd::cleanup
