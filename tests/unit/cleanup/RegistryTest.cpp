#include "RegistryContract.h"

using namespace exportd::cleanup;
using namespace exportd::cleanup::test;

// The registry contract on SQLite (a file in a temporary directory), and
// what only the SQLite registry does.
class RegistryTest : public RegistryContract {
    CPPUNIT_TEST_SUB_SUITE(RegistryTest, RegistryContract);
    CPPUNIT_TEST(testMemoryRegistryWorksFromManyThreads);
    CPPUNIT_TEST(testOpenRegistryRejectsUnknownScheme);
    CPPUNIT_TEST_SUITE_END();

public:
    // Verifies that ":memory:" is one database shared by every calling thread.
    void testMemoryRegistryWorksFromManyThreads()
    {
        auto mem = openRegistry("sqlite::memory:");
        std::vector<std::thread> threads;
        for (int t = 0; t < 8; ++t)
            threads.emplace_back([&, t] {
                for (int i = 0; i < 25; ++i)
                    mem->create(queuedRecord(testId("m" + std::to_string(t) + "x" + std::to_string(i)),
                                             T0, "o" + std::to_string(t)),
                                0);
            });
        for (auto& th : threads) th.join();
        int total = 0;
        for (int t = 0; t < 8; ++t) total += mem->listByListKey("o" + std::to_string(t), 500).size();
        CPPUNIT_ASSERT_EQUAL(200, total);
    }

    void testOpenRegistryRejectsUnknownScheme()
    {
        CPPUNIT_ASSERT_THROW(openRegistry("mysql://x"), RegistryError);
        CPPUNIT_ASSERT_THROW(openRegistry("sqlite:"), RegistryError);
        CPPUNIT_ASSERT_THROW(openRegistry("sqlite:/nonexistent-dir/x/registry.db"), RegistryError);
    }

protected:
    std::string newRegistryUri() override
    {
        _dir = std::make_unique<TempDir>();
        return "sqlite:" + _dir->file("registry.db");
    }

    void dropRegistry() override { _dir.reset(); }

private:
    std::unique_ptr<TempDir> _dir;
};

CPPUNIT_TEST_SUITE_REGISTRATION(RegistryTest);
