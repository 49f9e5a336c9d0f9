#include <cppunit/BriefTestProgressListener.h>
#include <cppunit/CompilerOutputter.h>
#include <cppunit/TestResult.h>
#include <cppunit/TestResultCollector.h>
#include <cppunit/TestRunner.h>
#include <cppunit/extensions/TestFactoryRegistry.h>

#include <sys/stat.h>

#include <cstdlib>
#include <iostream>

// Runs every registered suite, or only the CppUnit test path given as argv[1]
// (e.g. "SweeperTest" or "SweeperTest::testSweepDeletesOnlyOverdueFiles").
// The suites that need a PostgreSQL server (registered as "postgresql") are
// there only when EXPORTD_TEST_PG_URI names one (ctest's postgresql label
// starts one with tests/pg/server.sh).
int main(int argc, char** argv)
{
    ::umask(027);
    CppUnit::TestResult controller;
    CppUnit::TestResultCollector result;
    controller.addListener(&result);
    CppUnit::BriefTestProgressListener progress;
    controller.addListener(&progress);

    CppUnit::TestRunner runner;
    runner.addTest(CppUnit::TestFactoryRegistry::getRegistry().makeTest());
    const char* pgUri = std::getenv("EXPORTD_TEST_PG_URI");
    if (pgUri && *pgUri)
        runner.addTest(CppUnit::TestFactoryRegistry::getRegistry("postgresql").makeTest());
    runner.run(controller, argc > 1 ? argv[1] : "");

    CppUnit::CompilerOutputter outputter(&result, std::cerr);
    outputter.write();
    std::cout << result.runTests() - result.testFailuresTotal() << " passed, "
              << result.testFailuresTotal() << " failed" << std::endl;
    return result.wasSuccessful() ? 0 : 1;
}
