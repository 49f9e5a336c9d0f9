#include "cleanup/Metrics.h"

#include <cppunit/extensions/HelperMacros.h>

#include <thread>
#include <vector>

using namespace exportd::cleanup;

namespace {

// Families of these tests only, some named like exportd's own (family::ALL),
// whose declaration here takes over their HELP text.
constexpr MetricFamily FILES_DELETED{"exportd_files_deleted_total", MetricType::Counter, "Files deleted."};
constexpr MetricFamily CREATED{"exportd_exports_created_total", MetricType::Counter, "Exports created."};
constexpr std::string_view SOME_CODES[] = {"disk_full", "interrupted"};
constexpr std::string_view DISK_FULL_ONLY[] = {"disk_full"};
constexpr MetricFamily FAILED{"exportd_exports_failed_total", MetricType::Counter, "Failed.", {}, "code", SOME_CODES};
constexpr MetricFamily FAILED_AGAIN{"exportd_exports_failed_total", MetricType::Counter, "Failed.", {}, "code",
                                    DISK_FULL_ONLY};
constexpr MetricFamily PENDING{"exportd_pending_cleanups", MetricType::Gauge, "Pending."};
constexpr double LAG_BUCKETS[] = {0.01, 0.1, 1};
constexpr MetricFamily LAG{"lag_seconds", MetricType::Histogram, "Lag.", LAG_BUCKETS};
constexpr MetricFamily C_TOTAL{"c_total", MetricType::Counter, "C."};
constexpr double ONE[] = {1};
constexpr MetricFamily H_ONE{"h", MetricType::Histogram, "H.", ONE};
constexpr MetricFamily N_TOTAL{"n_total", MetricType::Counter, ""};
constexpr MetricFamily H{"h", MetricType::Histogram, ""};

} // namespace

class MetricsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(MetricsTest);
    CPPUNIT_TEST(testCounterRendersHelpTypeAndLabelledValues);
    CPPUNIT_TEST(testUntouchedCounterRendersZero);
    CPPUNIT_TEST(testDeclaredSeriesShowFromTheStartWithoutUnlabelledSample);
    CPPUNIT_TEST(testGaugeIsSetNotAdded);
    CPPUNIT_TEST(testHistogramBucketsAreCumulativeWithLeMerged);
    CPPUNIT_TEST(testDeclareTwiceKeepsValues);
    CPPUNIT_TEST(testIncrementFromManyThreadsLosesNothing);
    CPPUNIT_TEST(testEveryFamilyIsShownFromTheStart);
    CPPUNIT_TEST_SUITE_END();

public:
    void testCounterRendersHelpTypeAndLabelledValues()
    {
        Metrics m;
        m.declare(FILES_DELETED);
        m.increment(FILES_DELETED, "reason=\"expired\"");
        m.increment(FILES_DELETED, "reason=\"expired\"");
        m.increment(FILES_DELETED, "reason=\"orphan\"", 3);
        const std::string text = m.render();
        CPPUNIT_ASSERT(contains(text, "# HELP exportd_files_deleted_total Files deleted.\n"));
        CPPUNIT_ASSERT(contains(text, "# TYPE exportd_files_deleted_total counter\n"));
        CPPUNIT_ASSERT(contains(text, "exportd_files_deleted_total{reason=\"expired\"} 2\n"));
        CPPUNIT_ASSERT(contains(text, "exportd_files_deleted_total{reason=\"orphan\"} 3\n"));
        CPPUNIT_ASSERT_EQUAL(2.0, m.value("exportd_files_deleted_total", "reason=\"expired\""));
        CPPUNIT_ASSERT_EQUAL(0.0, m.value("exportd_files_deleted_total", "reason=\"sweep\""));
    }

    void testUntouchedCounterRendersZero()
    {
        Metrics m;
        m.declare(CREATED);
        CPPUNIT_ASSERT(contains(m.render(), "\nexportd_exports_created_total 0\n"));
    }

    // Verifies that a labelled family never switches from one unlabelled sample
    // to labelled series when its first label value appears.
    void testDeclaredSeriesShowFromTheStartWithoutUnlabelledSample()
    {
        Metrics m;
        m.declare(FAILED);
        std::string text = m.render();
        CPPUNIT_ASSERT(contains(text, "exportd_exports_failed_total{code=\"disk_full\"} 0\n"));
        CPPUNIT_ASSERT(contains(text, "exportd_exports_failed_total{code=\"interrupted\"} 0\n"));
        CPPUNIT_ASSERT(!contains(text, "\nexportd_exports_failed_total 0\n"));
        m.increment(FAILED, "code=\"disk_full\"");
        m.declare(FAILED_AGAIN); // again: keeps the value
        text = m.render();
        CPPUNIT_ASSERT(contains(text, "exportd_exports_failed_total{code=\"disk_full\"} 1\n"));
        CPPUNIT_ASSERT(contains(text, "exportd_exports_failed_total{code=\"interrupted\"} 0\n"));
    }

    void testGaugeIsSetNotAdded()
    {
        Metrics m;
        m.declare(PENDING);
        m.set(PENDING, "", 5);
        m.set(PENDING, "", 2.5);
        CPPUNIT_ASSERT(contains(m.render(), "# TYPE exportd_pending_cleanups gauge\nexportd_pending_cleanups 2.5\n"));
    }

    void testHistogramBucketsAreCumulativeWithLeMerged()
    {
        Metrics m;
        m.declare(LAG);
        m.observe(LAG, 0.005, "kind=\"a\"");
        m.observe(LAG, 0.01, "kind=\"a\""); // le is inclusive
        m.observe(LAG, 0.5, "kind=\"a\"");
        m.observe(LAG, 7, "kind=\"a\"");
        const std::string text = m.render();
        CPPUNIT_ASSERT(contains(text, "# TYPE lag_seconds histogram\n"));
        CPPUNIT_ASSERT(contains(text, "lag_seconds_bucket{kind=\"a\",le=\"0.01\"} 2\n"));
        CPPUNIT_ASSERT(contains(text, "lag_seconds_bucket{kind=\"a\",le=\"0.1\"} 2\n"));
        CPPUNIT_ASSERT(contains(text, "lag_seconds_bucket{kind=\"a\",le=\"1\"} 3\n"));
        CPPUNIT_ASSERT(contains(text, "lag_seconds_bucket{kind=\"a\",le=\"+Inf\"} 4\n"));
        CPPUNIT_ASSERT(contains(text, "lag_seconds_sum{kind=\"a\"} 7.515\n"));
        CPPUNIT_ASSERT(contains(text, "lag_seconds_count{kind=\"a\"} 4\n"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(4), m.count("lag_seconds", "kind=\"a\""));

        m.observe(LAG, 0.2);
        CPPUNIT_ASSERT(contains(m.render(), "lag_seconds_bucket{le=\"1\"} 1\n"));
        CPPUNIT_ASSERT(contains(m.render(), "lag_seconds_count 1\n"));
    }

    void testDeclareTwiceKeepsValues()
    {
        Metrics m;
        m.declare(C_TOTAL);
        m.increment(C_TOTAL);
        m.declare(C_TOTAL);
        m.declare(H_ONE);
        m.observe(H_ONE, 0.5);
        m.declare(H_ONE);
        CPPUNIT_ASSERT_EQUAL(1.0, m.value("c_total"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), m.count("h"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), occurrences(m.render(), "# TYPE c_total"));
    }

    void testIncrementFromManyThreadsLosesNothing()
    {
        Metrics m;
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&] {
                for (int i = 0; i < 10000; ++i) {
                    m.increment(N_TOTAL);
                    m.observe(H, 0.001);
                }
            });
        for (auto& th : threads) th.join();
        CPPUNIT_ASSERT_EQUAL(40000.0, m.value("n_total"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(40000), m.count("h"));
    }

    // Verifies that a new Metrics shows every family of family::ALL, with HELP
    // and TYPE once each, and a labelled family's declared series at 0.
    void testEveryFamilyIsShownFromTheStart()
    {
        const std::string text = Metrics().render();
        for (const MetricFamily* f : family::ALL) {
            const std::string name(f->name);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(name, std::size_t(1), occurrences(text, "# HELP " + name + " "));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(name, std::size_t(1), occurrences(text, "# TYPE " + name + " "));
            for (std::string_view v : f->labelValues)
                CPPUNIT_ASSERT_MESSAGE(name, contains(text, name + "{" + labelled(*f, v) + "} 0\n"));
        }
        CPPUNIT_ASSERT(contains(text, "exportd_cleanup_lag_seconds_bucket{le=\"0.001\"} 0\n"));
        CPPUNIT_ASSERT(contains(text, "exportd_export_duration_seconds_bucket{le=\"600\"} 0\n"));
    }

private:
    static bool contains(const std::string& text, const std::string& part)
    {
        return text.find(part) != std::string::npos;
    }

    static std::size_t occurrences(const std::string& text, const std::string& part)
    {
        std::size_t n = 0;
        for (auto pos = text.find(part); pos != std::string::npos; pos = text.find(part, pos + 1)) ++n;
        return n;
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MetricsTest);
