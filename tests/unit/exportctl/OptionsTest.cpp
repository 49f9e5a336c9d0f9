#include "CtlError.h"
#include "Options.h"

#include <cppunit/extensions/HelperMacros.h>

#include <vector>

using exportd::ctl::CtlError;
using exportd::ctl::Options;
using exportd::ctl::parseOptions;

namespace {

Options parse(std::vector<std::string> words)
{
    words.insert(words.begin(), "exportctl");
    std::vector<char*> argv;
    for (auto& w : words)
        argv.push_back(w.data());
    return parseOptions(static_cast<int>(argv.size()), argv.data());
}

} // namespace

class OptionsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(OptionsTest);
    CPPUNIT_TEST(testOptionsStandAnywhereInBothForms);
    CPPUNIT_TEST(testIdBeginningWithDashIsAnArgument);
    CPPUNIT_TEST(testShortOptionsStillWork);
    CPPUNIT_TEST(testUnknownLongOptionIsAUsageError);
    CPPUNIT_TEST(testMissingValueIsAUsageError);
    CPPUNIT_TEST_SUITE_END();

public:
    void testOptionsStandAnywhereInBothForms()
    {
        const Options o = parse({"--url", "http://h:1", "create", "--dataset=orders", "--filter", "country=DE", "--wait"});
        CPPUNIT_ASSERT_EQUAL(std::string("create"), o.command);
        CPPUNIT_ASSERT_EQUAL(std::string("http://h:1"), o.url);
        CPPUNIT_ASSERT_EQUAL(std::string("orders"), o.dataset);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), o.filters.size());
        CPPUNIT_ASSERT(o.wait);
    }

    // Verifies that ids, 22 characters of [A-Za-z0-9_-], may begin with '-'.
    void testIdBeginningWithDashIsAnArgument()
    {
        const Options o = parse({"status", "-EjHRnO94xWv6Y_d2aQbBw"});
        CPPUNIT_ASSERT_EQUAL(std::string("status"), o.command);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), o.args.size());
        CPPUNIT_ASSERT_EQUAL(std::string("-EjHRnO94xWv6Y_d2aQbBw"), o.args[0]);
        const Options p = parse({"download", "--", "--EjHRnO94xWv6Y_d2aQbB"});
        CPPUNIT_ASSERT_EQUAL(std::string("--EjHRnO94xWv6Y_d2aQbB"), p.args.at(0));
    }

    void testShortOptionsStillWork()
    {
        const Options o = parse({"download", "-q", "-o", "out.csv", "AAAAAAAAAAAAAAAAAAAAAA"});
        CPPUNIT_ASSERT(o.quiet);
        CPPUNIT_ASSERT(o.output && *o.output == "out.csv");
        CPPUNIT_ASSERT_EQUAL(std::string("AAAAAAAAAAAAAAAAAAAAAA"), o.args.at(0));
    }

    void testUnknownLongOptionIsAUsageError()
    {
        CPPUNIT_ASSERT_THROW(parse({"list", "--colour"}), CtlError);
    }

    void testMissingValueIsAUsageError()
    {
        CPPUNIT_ASSERT_THROW(parse({"create", "--dataset"}), CtlError);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(OptionsTest);
