#include <cppunit/BriefTestProgressListener.h>
#include <cppunit/CompilerOutputter.h>
#include <cppunit/TestResult.h>
#include <cppunit/TestResultCollector.h>
#include <cppunit/TestRunner.h>
#include <cppunit/extensions/TestFactoryRegistry.h>

#include <sys/stat.h>

#include <iostream>

// Runs every registered suite, or only the CppUnit test path given as argv[1]
// (e.g. "SweeperTest" or "SweeperTest::testSweepDeletesOnlyOverdueFiles").
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
    runner.run(controller, argc > 1 ? argv[1] : "");

    CppUnit::CompilerOutputter outputter(&result, std::cerr);
    outputter.write();
    std::cout << result.runTests() - result.testFailuresTotal() << " passed, "
              << result.testFailuresTotal() << " failed" << std::endl;
    return result.wasSuccessful() ? 0 : 1;
}
