#include "cleanup/Metrics.h"

#include <cppunit/extensions/HelperMacros.h>

#include <thread>
#include <vector>

using namespace exportd::cleanup;

class MetricsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(MetricsTest);
    CPPUNIT_TEST(testCounterRendersHelpTypeAndLabelledValues);
    CPPUNIT_TEST(testUntouchedCounterRendersZero);
    CPPUNIT_TEST(testDeclaredSeriesShowFromTheStartWithoutUnlabelledSample);
    CPPUNIT_TEST(testGaugeIsSetNotAdded);
    CPPUNIT_TEST(testHistogramBucketsAreCumulativeWithLeMerged);
    CPPUNIT_TEST(testDeclareTwiceKeepsValues);
    CPPUNIT_TEST(testIncrementFromManyThreadsLosesNothing);
    CPPUNIT_TEST_SUITE_END();

public:
    void testCounterRendersHelpTypeAndLabelledValues()
    {
        Metrics m;
        m.declare("exportd_files_deleted_total", "counter", "Files deleted.");
        m.increment("exportd_files_deleted_total", "reason=\"expired\"");
        m.increment("exportd_files_deleted_total", "reason=\"expired\"");
        m.increment("exportd_files_deleted_total", "reason=\"orphan\"", 3);
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
        m.declare("exportd_exports_created_total", "counter", "Exports created.");
        CPPUNIT_ASSERT(contains(m.render(), "\nexportd_exports_created_total 0\n"));
    }

    // Verifies that a labelled family never switches from one unlabelled sample
    // to labelled series when its first label value appears.
    void testDeclaredSeriesShowFromTheStartWithoutUnlabelledSample()
    {
        Metrics m;
        m.declare("exportd_exports_failed_total", "counter", "Failed.");
        m.declareSeries("exportd_exports_failed_total", "code", {"disk_full", "interrupted"});
        std::string text = m.render();
        CPPUNIT_ASSERT(contains(text, "exportd_exports_failed_total{code=\"disk_full\"} 0\n"));
        CPPUNIT_ASSERT(contains(text, "exportd_exports_failed_total{code=\"interrupted\"} 0\n"));
        CPPUNIT_ASSERT(!contains(text, "\nexportd_exports_failed_total 0\n"));
        m.increment("exportd_exports_failed_total", "code=\"disk_full\"");
        m.declareSeries("exportd_exports_failed_total", "code", {"disk_full"}); // again: keeps the value
        text = m.render();
        CPPUNIT_ASSERT(contains(text, "exportd_exports_failed_total{code=\"disk_full\"} 1\n"));
        CPPUNIT_ASSERT(contains(text, "exportd_exports_failed_total{code=\"interrupted\"} 0\n"));
    }

    void testGaugeIsSetNotAdded()
    {
        Metrics m;
        m.declare("exportd_pending_cleanups", "gauge", "Pending.");
        m.set("exportd_pending_cleanups", "", 5);
        m.set("exportd_pending_cleanups", "", 2.5);
        CPPUNIT_ASSERT(contains(m.render(), "# TYPE exportd_pending_cleanups gauge\nexportd_pending_cleanups 2.5\n"));
    }

    void testHistogramBucketsAreCumulativeWithLeMerged()
    {
        Metrics m;
        m.declare("lag_seconds", "histogram", "Lag.", {0.01, 0.1, 1});
        m.observe("lag_seconds", 0.005, "kind=\"a\"");
        m.observe("lag_seconds", 0.01, "kind=\"a\""); // le is inclusive
        m.observe("lag_seconds", 0.5, "kind=\"a\"");
        m.observe("lag_seconds", 7, "kind=\"a\"");
        const std::string text = m.render();
        CPPUNIT_ASSERT(contains(text, "# TYPE lag_seconds histogram\n"));
        CPPUNIT_ASSERT(contains(text, "lag_seconds_bucket{kind=\"a\",le=\"0.01\"} 2\n"));
        CPPUNIT_ASSERT(contains(text, "lag_seconds_bucket{kind=\"a\",le=\"0.1\"} 2\n"));
        CPPUNIT_ASSERT(contains(text, "lag_seconds_bucket{kind=\"a\",le=\"1\"} 3\n"));
        CPPUNIT_ASSERT(contains(text, "lag_seconds_bucket{kind=\"a\",le=\"+Inf\"} 4\n"));
        CPPUNIT_ASSERT(contains(text, "lag_seconds_sum{kind=\"a\"} 7.515\n"));
        CPPUNIT_ASSERT(contains(text, "lag_seconds_count{kind=\"a\"} 4\n"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(4), m.count("lag_seconds", "kind=\"a\""));

        m.observe("lag_seconds", 0.2);
        CPPUNIT_ASSERT(contains(m.render(), "lag_seconds_bucket{le=\"1\"} 1\n"));
        CPPUNIT_ASSERT(contains(m.render(), "lag_seconds_count 1\n"));
    }

    void testDeclareTwiceKeepsValues()
    {
        Metrics m;
        m.declare("c_total", "counter", "C.");
        m.increment("c_total");
        m.declare("c_total", "counter", "C.");
        m.declare("h", "histogram", "H.", {1});
        m.observe("h", 0.5);
        m.declare("h", "histogram", "H.", {1});
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
                    m.increment("n_total");
                    m.observe("h", 0.001);
                }
            });
        for (auto& th : threads) th.join();
        CPPUNIT_ASSERT_EQUAL(40000.0, m.value("n_total"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(40000), m.count("h"));
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
