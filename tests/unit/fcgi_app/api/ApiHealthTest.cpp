#include "api/Api.h"
#include "PipelineTestSupport.h"
#include "sqlite/SqliteRegistry.h"

#include <Poco/Logger.h>

#include <cppunit/extensions/HelperMacros.h>

#include <json/reader.h>

using namespace exportd;
using exportd::test::PipelineTempDir;
using exportd::test::ordersCatalogJson;

namespace {

// A registry that answers everything but ping(), whose error names a path
// the way a real one does.
class UnreachableRegistry : public cleanup::SqliteRegistry {
public:
    using SqliteRegistry::SqliteRegistry;
    void ping() override
    {
        throw cleanup::RegistryError("cannot open registry /srv/secret-place/registry.db: unable to open database file");
    }
};

Json::Value parse(const std::string& text)
{
    Json::CharReaderBuilder builder;
    Json::Value value;
    std::string errors;
    std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    reader->parse(text.data(), text.data() + text.size(), &value, &errors);
    return value;
}

} // namespace

// /api/health needs no credentials: what it says must not reveal how the
// service is laid out (README "Choices where the contract is silent").
class ApiHealthTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ApiHealthTest);
    CPPUNIT_TEST(testHealthNamesTheFailingRegistryWithoutItsDetails);
    CPPUNIT_TEST(testHealthIsOkAndSetsNoCookie);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _dir = std::make_unique<PipelineTempDir>();
        _config.dataDir = _dir->path();
        _config.exportsDir = _dir->path();
        _config.fileGid = -1;
    }

    void testHealthNamesTheFailingRegistryWithoutItsDetails()
    {
        UnreachableRegistry registry(_dir->file("registry.db"));
        const Response r = health(registry);
        CPPUNIT_ASSERT_EQUAL(503, r.status);
        const Json::Value body = parse(r.body);
        CPPUNIT_ASSERT_EQUAL(std::string("unavailable"), body["status"].asString());
        CPPUNIT_ASSERT_EQUAL(std::string("error: unavailable"), body["registry"].asString());
        CPPUNIT_ASSERT_EQUAL(std::string("ok"), body["export_dir"].asString());
        CPPUNIT_ASSERT_MESSAGE(r.body, r.body.find("secret-place") == std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(r.body, r.body.find("registry.db") == std::string::npos);
    }

    void testHealthIsOkAndSetsNoCookie()
    {
        cleanup::SqliteRegistry registry(_dir->file("registry.db"));
        const Response r = health(registry);
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("ok"), parse(r.body)["registry"].asString());
        CPPUNIT_ASSERT(r.header("Set-Cookie").empty());
    }

private:
    Response health(cleanup::Registry& registry)
    {
        cleanup::SystemClock clock;
        cleanup::Metrics metrics;
        Poco::Logger& logger = Poco::Logger::get("test");
        const auto store = cleanup::openDirectoryStore(_config.exportsDir);
        cleanup::CleanupScheduler scheduler(registry, metrics, clock, *store, logger);
        ExportRunnerOptions options;
        options.instanceId = "instance-test";
        ExportRunner runner(registry, scheduler, *store, metrics, clock, options, logger);
        CatalogHolder catalog(std::make_shared<const DatasetCatalog>(
            DatasetCatalog::loadString(ordersCatalogJson(_dir->file("demo.db")), "")));
        Api api(_config, registry, runner, scheduler, *store, metrics, clock, catalog, "instance-test", logger);
        Request request;
        request.method = "GET";
        request.path = "/api/health";
        request.params["REMOTE_ADDR"] = "127.0.0.1";
        return api.handle(request);
    }

    std::unique_ptr<PipelineTempDir> _dir;
    Config _config;
};

CPPUNIT_TEST_SUITE_REGISTRATION(ApiHealthTest);
