#include "export/ExportRunner.h"
#include "PipelineTestSupport.h"

#include "cleanup/CleanupScheduler.h"
#include "cleanup/Metrics.h"
#include "cleanup/Registry.h"

#include <Poco/Logger.h>

#include <cppunit/extensions/HelperMacros.h>

#include <chrono>
#include <dirent.h>
#include <thread>

using namespace exportd;
using namespace exportd::test;
using exportd::cleanup::ExportStatus;

namespace {

template <class Pred>
bool waitUntil(Pred done, int timeoutMs = 10000)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

std::vector<std::string> listDir(const std::string& path)
{
    std::vector<std::string> names;
    if (DIR* d = ::opendir(path.c_str())) {
        while (dirent* e = ::readdir(d))
            if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
                names.emplace_back(e->d_name);
        ::closedir(d);
    }
    return names;
}

} // namespace

// End to end against the real SQLite registry: a job reads the dataset,
// writes <id>.part, renames it and marks the export ready, or fails cleanly.
class ExportRunnerTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ExportRunnerTest);
    CPPUNIT_TEST(testCsvExportBecomesReadyWithItsFileAndDigest);
    CPPUNIT_TEST(testFiltersReachTheExport);
    CPPUNIT_TEST(testNdjsonAndXlsxExportsBecomeReady);
    CPPUNIT_TEST(testTooManyRowsFailsWithoutAFile);
    CPPUNIT_TEST(testCancelRemovesThePartialFile);
    CPPUNIT_TEST(testDiskFullFailsAsDiskFullWithoutLeftovers);
    CPPUNIT_TEST(testShutdownInterruptsRunningAndQueuedJobs);
    CPPUNIT_TEST(testExportDeletedBeforeItStartsIsSkipped);
    CPPUNIT_TEST(testMissingSourceFailsAsSourceError);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _dir = std::make_unique<PipelineTempDir>();
        _exports = _dir->file("exports");
        ::mkdir(_exports.c_str(), 0750);
        _db = _dir->file("demo.db");
        makeOrdersDatabase(_db, 2000);
        _catalog = std::make_shared<DatasetCatalog>(DatasetCatalog::loadString(ordersCatalogJson(_db), ""));
        _registry = cleanup::openRegistry("sqlite:" + _dir->file("r.db"));
        _store = cleanup::openDirectoryStore(_exports);
        _scheduler = std::make_unique<cleanup::CleanupScheduler>(*_registry, _metrics, _clock, *_store,
                                                                 Poco::Logger::get("test"));
    }

    void tearDown() override
    {
        _runner.reset();
        _scheduler.reset();
        _store.reset();
        _registry.reset();
        ::unsetenv("EXPORTD_FAULT_DISK_FULL_AFTER_BYTES");
        _dir.reset();
    }

    void testCsvExportBecomesReadyWithItsFileAndDigest()
    {
        start();
        auto rec = submit("ready", "csv", "{}");
        auto done = waitFinal(rec.id);
        CPPUNIT_ASSERT_EQUAL(std::string("ready"), cleanup::toString(done.status));
        const std::string path = _exports + "/" + rec.id;
        CPPUNIT_ASSERT(fileExists(path));
        CPPUNIT_ASSERT(!fileExists(path + ".part"));
        CPPUNIT_ASSERT_EQUAL(0640u, fileMode(path));
        const std::string content = readFile(path);
        CPPUNIT_ASSERT_EQUAL(sha256Hex(content), done.file.sha256);
        CPPUNIT_ASSERT_EQUAL(static_cast<std::int64_t>(content.size()), done.file.sizeBytes);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(2000), done.file.rows);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(2000), done.rowsWritten);
        CPPUNIT_ASSERT(done.rowsTotal && *done.rowsTotal == 2000);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2001), countOccurrences(content, "\r\n"));
        CPPUNIT_ASSERT_EQUAL(std::string("orders-20260102T030405Z.csv"), done.file.name);
        CPPUNIT_ASSERT_EQUAL(std::string("text/csv; charset=utf-8"), done.file.contentType);
        CPPUNIT_ASSERT(done.expiresAt && done.readyAt && *done.expiresAt == *done.readyAt + 60000);
        CPPUNIT_ASSERT_EQUAL(1.0, _metrics.value("exportd_exports_completed_total", "format=\"csv\""));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), _metrics.count("exportd_export_duration_seconds"));
        CPPUNIT_ASSERT(!_runner->isLocalJob(rec.id));
        CPPUNIT_ASSERT_EQUAL(std::int64_t(1), _scheduler->pending());
    }

    void testFiltersReachTheExport()
    {
        start();
        auto rec = submit("filtered", "csv",
                          R"({"country": "DE", "total_cents": {"max": 30000}, "created_at": {"to": "2024-01-02"}})");
        auto done = waitFinal(rec.id);
        CPPUNIT_ASSERT_EQUAL(std::string("ready"), cleanup::toString(done.status));
        // ids 3..47 are within 2024-01-02 (one per hour from 01:00 on the 1st); DE is i % 3 == 0.
        CPPUNIT_ASSERT_EQUAL(std::int64_t(15), done.file.rows);
        CPPUNIT_ASSERT(readFile(_exports + "/" + rec.id).find("\r\n3,2024-01-01T03:00:00Z,user3@example.org,\"Name, 3\",DE")
                       != std::string::npos);
    }

    void testNdjsonAndXlsxExportsBecomeReady()
    {
        start();
        auto nd = submit("ndjson", "ndjson", "{}");
        auto xl = submit("xlsx", "xlsx", R"({"status": "paid"})");
        auto ndDone = waitFinal(nd.id);
        auto xlDone = waitFinal(xl.id);
        CPPUNIT_ASSERT_EQUAL(std::string("ready"), cleanup::toString(ndDone.status));
        CPPUNIT_ASSERT_EQUAL(std::string("ready"), cleanup::toString(xlDone.status));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2000), countOccurrences(readFile(_exports + "/" + nd.id), "\n"));
        CPPUNIT_ASSERT_EQUAL(std::int64_t(1000), xlDone.file.rows);
        CPPUNIT_ASSERT_EQUAL(sha256Hex(readFile(_exports + "/" + xl.id)), xlDone.file.sha256);
        CPPUNIT_ASSERT_EQUAL(0640u, fileMode(_exports + "/" + xl.id));
        const std::string sheet = runCommand("unzip -p '" + _exports + "/" + xl.id + "' xl/worksheets/sheet1.xml");
        CPPUNIT_ASSERT_EQUAL(std::size_t(1001), countOccurrences(sheet, "<row "));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), listDir(_exports).size()); // no libxlsxwriter temp files
    }

    void testTooManyRowsFailsWithoutAFile()
    {
        ExportRunnerOptions options = baseOptions();
        options.maxRows = 1999;
        start(options);
        auto rec = submit("toomany", "csv", "{}");
        auto done = waitFinal(rec.id);
        CPPUNIT_ASSERT_EQUAL(std::string("failed"), cleanup::toString(done.status));
        CPPUNIT_ASSERT_EQUAL(std::string("too_many_rows"), done.errorCode);
        CPPUNIT_ASSERT(done.errorMessage.find("2,000 rows") != std::string::npos);
        CPPUNIT_ASSERT(listDir(_exports).empty());
        CPPUNIT_ASSERT_EQUAL(1.0, _metrics.value("exportd_exports_failed_total", "code=\"too_many_rows\""));
    }

    void testCancelRemovesThePartialFile()
    {
        ExportRunnerOptions options = baseOptions();
        // Five seconds for 2000 rows: the poll below must see the job mid-way,
        // before it finishes, even on a loaded machine.
        options.rowsPerSecond = 400;
        options.bufferBytes = 4096; // so bytes reach the .part early
        start(options);
        auto rec = submit("cancel", "csv", "{}");
        CPPUNIT_ASSERT(waitUntil([&] {
            auto r = _registry->find(rec.id);
            return r && r->rowsWritten > 100 && fileExists(_exports + "/" + rec.id + ".part");
        }));
        CPPUNIT_ASSERT(_registry->markDeleted(rec.id, _clock.nowMs()));
        _runner->cancel(rec.id);
        CPPUNIT_ASSERT(waitUntil([&] { return !_runner->isLocalJob(rec.id); }));
        CPPUNIT_ASSERT(listDir(_exports).empty());
        CPPUNIT_ASSERT_EQUAL(std::string("deleted"), cleanup::toString(_registry->find(rec.id)->status));
    }

    // Verifies the fault hook of the writers end to end (EXPORTD_FAULT_DISK_FULL_AFTER_BYTES).
    void testDiskFullFailsAsDiskFullWithoutLeftovers()
    {
        ::setenv("EXPORTD_FAULT_DISK_FULL_AFTER_BYTES", "20000", 1);
        ExportRunnerOptions options = baseOptions();
        options.bufferBytes = 4096;
        start(options);
        auto csv = submit("fullcsv", "csv", "{}");
        auto xlsx = submit("fullxlsx", "xlsx", "{}");
        auto csvDone = waitFinal(csv.id);
        auto xlsxDone = waitFinal(xlsx.id);
        CPPUNIT_ASSERT_EQUAL(std::string("failed"), cleanup::toString(csvDone.status));
        CPPUNIT_ASSERT_EQUAL(std::string("disk_full"), csvDone.errorCode);
        CPPUNIT_ASSERT_EQUAL(std::string("disk_full"), xlsxDone.errorCode);
        CPPUNIT_ASSERT(listDir(_exports).empty());
        CPPUNIT_ASSERT_EQUAL(2.0, _metrics.value("exportd_exports_failed_total", "code=\"disk_full\""));
    }

    void testShutdownInterruptsRunningAndQueuedJobs()
    {
        ExportRunnerOptions options = baseOptions();
        options.threads = 1;
        options.rowsPerSecond = 500;
        start(options);
        auto running = submit("running", "csv", "{}");
        auto queued = submit("queued", "csv", "{}");
        CPPUNIT_ASSERT(waitUntil([&] { return _registry->find(running.id)->status == ExportStatus::Running; }));
        _runner->shutdown();
        for (const auto& id : {running.id, queued.id}) {
            auto r = _registry->find(id);
            CPPUNIT_ASSERT_EQUAL(std::string("failed"), cleanup::toString(r->status));
            CPPUNIT_ASSERT_EQUAL(std::string("interrupted"), r->errorCode);
        }
        CPPUNIT_ASSERT(listDir(_exports).empty());
    }

    void testExportDeletedBeforeItStartsIsSkipped()
    {
        start();
        auto rec = record("predeleted", "csv", "{}");
        CPPUNIT_ASSERT(_registry->create(rec, 0).outcome == cleanup::CreateOutcome::Created);
        CPPUNIT_ASSERT(_registry->markDeleted(rec.id, _clock.nowMs()));
        _runner->submit(rec);
        CPPUNIT_ASSERT(waitUntil([&] { return !_runner->isLocalJob(rec.id); }));
        CPPUNIT_ASSERT_EQUAL(std::string("deleted"), cleanup::toString(_registry->find(rec.id)->status));
        CPPUNIT_ASSERT(listDir(_exports).empty());
    }

    void testMissingSourceFailsAsSourceError()
    {
        _catalog = std::make_shared<DatasetCatalog>(
            DatasetCatalog::loadString(ordersCatalogJson(_dir->file("gone.db")), ""));
        start();
        auto done = waitFinal(submit("nosource", "csv", "{}").id);
        CPPUNIT_ASSERT_EQUAL(std::string("source_error"), done.errorCode);
        CPPUNIT_ASSERT(listDir(_exports).empty());
    }

private:
    ExportRunnerOptions baseOptions()
    {
        ExportRunnerOptions o;
        o.instanceId = "instance-test";
        o.threads = 2;
        return o;
    }

    void start() { start(baseOptions()); }
    void start(ExportRunnerOptions options)
    {
        _registry->heartbeat(options.instanceId, _clock.nowMs());
        _runner = std::make_unique<ExportRunner>(*_registry, *_scheduler, *_store, _metrics, _clock, options,
                                                 Poco::Logger::get("test"));
        _runner->setCatalog(_catalog);
    }

    cleanup::ExportRecord record(const std::string& tag, const std::string& format, const std::string& filters)
    {
        cleanup::ExportRecord r;
        r.id = tag;
        r.id.resize(22, 'x');
        r.ownerKey = r.listKey = r.limitKey = "owner";
        r.requestKey = r.id;
        r.dataset = "orders";
        r.format = format;
        r.filtersJson = filters;
        r.retentionSeconds = 60;
        r.createdAt = 1767323045000; // 2026-01-02T03:04:05Z
        r.instanceId = "instance-test";
        return r;
    }

    cleanup::ExportRecord submit(const std::string& tag, const std::string& format, const std::string& filters)
    {
        auto r = record(tag, format, filters);
        CPPUNIT_ASSERT(_registry->create(r, 0).outcome == cleanup::CreateOutcome::Created);
        _runner->submit(r);
        return r;
    }

    cleanup::ExportRecord waitFinal(const std::string& id)
    {
        std::optional<cleanup::ExportRecord> r;
        CPPUNIT_ASSERT_MESSAGE("export " + id + " did not finish", waitUntil([&] {
            r = _registry->find(id);
            return r && r->status != ExportStatus::Queued && r->status != ExportStatus::Running
                && !_runner->isLocalJob(id);
        }));
        return *r;
    }

    std::unique_ptr<PipelineTempDir> _dir;
    std::string _exports, _db;
    std::shared_ptr<DatasetCatalog> _catalog;
    cleanup::SystemClock _clock;
    cleanup::Metrics _metrics;
    std::unique_ptr<cleanup::Registry> _registry;
    std::unique_ptr<cleanup::FileStore> _store;
    std::unique_ptr<cleanup::CleanupScheduler> _scheduler;
    std::unique_ptr<ExportRunner> _runner;
};

CPPUNIT_TEST_SUITE_REGISTRATION(ExportRunnerTest);
