#include "export/ExportRequest.h"
#include "export/JsonText.h"
#include "PipelineTestSupport.h"
#include "export/RequestError.h"

#include <cppunit/extensions/HelperMacros.h>

using namespace exportd;
using namespace exportd::test;

class ExportRequestTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ExportRequestTest);
    CPPUNIT_TEST(testMinimalRequestFillsInDefaults);
    CPPUNIT_TEST(testFullSpecExampleIsAccepted);
    CPPUNIT_TEST(testUnparsableBodiesAreInvalidJson);
    CPPUNIT_TEST(testJsonThatIsNotAnObjectIsInvalidRequest);
    CPPUNIT_TEST(testRestrictedDatasetIsAnsweredAsUnknown);
    CPPUNIT_TEST(testDeepNestingIsInvalidJsonNotACrash);
    CPPUNIT_TEST(testInvalidUtf8IsInvalidJson);
    CPPUNIT_TEST(testMissingOrMistypedDatasetIsInvalidRequest);
    CPPUNIT_TEST(testUnknownDatasetIsUnknownDataset);
    CPPUNIT_TEST(testUnknownTopLevelKeyIsNamed);
    CPPUNIT_TEST(testUnsupportedFormatIsRefused);
    CPPUNIT_TEST(testRetentionMustBeAnIntegerWithinTheConfiguredOne);
    CPPUNIT_TEST(testFiltersMustBeAnObject);
    CPPUNIT_TEST(testUnknownFilterFieldIsNamed);
    CPPUNIT_TEST(testEnumAcceptsOnlyDeclaredValues);
    CPPUNIT_TEST(testStringFilterShapes);
    CPPUNIT_TEST(testEmptyValueListIsRefused);
    CPPUNIT_TEST(testDateBoundsMustBeRealDates);
    CPPUNIT_TEST(testDateFromAfterToIsRefusedAtFrom);
    CPPUNIT_TEST(testDateFilterNeedsABound);
    CPPUNIT_TEST(testIntegerFilterRefusesFloatsStringsAndHugeNumbers);
    CPPUNIT_TEST(testIntegerMinAboveMaxIsRefusedAtMin);
    CPPUNIT_TEST(testCanonicalKeyTreatsAStringAsAOneElementArray);
    CPPUNIT_TEST(testCanonicalKeySortsAndDeduplicates);
    CPPUNIT_TEST(testCanonicalKeyFillsInDefaults);
    CPPUNIT_TEST(testCanonicalKeyConvertsDateBoundsToUtc);
    CPPUNIT_TEST(testCanonicalKeyDistinguishesDifferentRequests);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _catalog = std::make_unique<DatasetCatalog>(DatasetCatalog::loadString(ordersCatalogJson("/nonexistent.db"), ""));
    }

    void testMinimalRequestFillsInDefaults()
    {
        ExportRequest r = parse(R"({"dataset": "orders"})");
        CPPUNIT_ASSERT_EQUAL(std::string("orders"), r.dataset);
        CPPUNIT_ASSERT_EQUAL(std::string("csv"), r.format);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(60), r.retentionSeconds);
        CPPUNIT_ASSERT(r.filters.isObject() && r.filters.empty());
        CPPUNIT_ASSERT_EQUAL(std::string(R"({"dataset":"orders","filters":{},"format":"csv","retention_seconds":60})"),
                             r.canonicalKey);
    }

    void testFullSpecExampleIsAccepted()
    {
        ExportRequest r = parse(R"({"dataset": "orders", "format": "xlsx", "retention_seconds": 30,
            "filters": {"status": ["shipped", "paid"], "country": "DE",
                        "created_at": {"from": "2026-01-01", "to": "2026-06-30"},
                        "total_cents": {"min": 1000, "max": 50000},
                        "customer_email": {"contains": "example.org"}}})");
        CPPUNIT_ASSERT_EQUAL(std::string("xlsx"), r.format);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(30), r.retentionSeconds);
        CPPUNIT_ASSERT_EQUAL(std::string("DE"), r.filters["country"].asString()); // as sent
        CPPUNIT_ASSERT_EQUAL(std::string("shipped"), r.filters["status"][0].asString());
    }

    void testUnparsableBodiesAreInvalidJson()
    {
        for (const char* body : {"", "{", "not json", R"({"dataset": "orders"} trailing)", R"({"dataset": "orders"}{})",
                                 R"({"dataset": 'orders'})",
                                 R"({"dataset": "orders", "dataset": "orders"})", R"({"dataset": "orders",})",
                                 "{\"dataset\": \"orders\" /* c */}"})
            expectError(body, 400, "invalid_json", "");
    }

    // Verifies that valid JSON of the wrong shape is the client's wrong shape, not unparsable.
    void testJsonThatIsNotAnObjectIsInvalidRequest()
    {
        for (const char* body : {"[1, 2]", "[]", "\"orders\"", "42", "null", "true", "[{\"dataset\": \"orders\"}]"})
            expectError(body, 400, "invalid_request", "");
    }

    // Verifies that a dataset kept from an owner answers exactly as one that
    // does not exist, whatever else the request holds (bad format, bad filter).
    void testRestrictedDatasetIsAnsweredAsUnknown()
    {
        DatasetCatalog restricted = DatasetCatalog::loadString(
            ordersCatalogJson("/nonexistent.db", R"(, "allowed_owners": ["bob"])"), "");
        auto errorFor = [&](const std::string& body, const std::string& owner) {
            try {
                parseExportRequest(body, restricted, 60, owner);
            } catch (const RequestError& e) {
                return std::to_string(e.status()) + " " + e.code() + " " + e.field() + " " + e.what();
            }
            return std::string("accepted");
        };
        for (const std::string filters : {R"({})", R"({"status": "nope"})", R"({"salary": 1})"}) {
            const std::string tail = R"(, "format": "pdf", "filters": )" + filters + "}";
            const std::string hidden = errorFor(R"({"dataset": "orders")" + tail, "alice");
            const std::string missing = errorFor(R"({"dataset": "ordersx")" + tail, "alice");
            CPPUNIT_ASSERT_EQUAL(std::string("400 unknown_dataset dataset There is no dataset named \"orders\"."), hidden);
            CPPUNIT_ASSERT_EQUAL(std::string("400 unknown_dataset dataset There is no dataset named \"ordersx\"."), missing);
        }
        CPPUNIT_ASSERT_EQUAL(std::string("accepted"), errorFor(R"({"dataset": "orders"})", "bob"));
        CPPUNIT_ASSERT(errorFor(R"({"dataset": "orders"})", "").find("unknown_dataset") != std::string::npos);
    }

    void testDeepNestingIsInvalidJsonNotACrash()
    {
        std::string body = R"({"dataset": "orders", "filters": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
        expectError(body, 400, "invalid_json", "");
    }

    void testInvalidUtf8IsInvalidJson()
    {
        expectError("{\"dataset\": \"ord\xff\xfers\"}", 400, "invalid_json", "");
        expectError("{\"dataset\": \"\xc0\xaf\"}", 400, "invalid_json", ""); // overlong
        expectError(R"({"dataset": "\udc00"})", 400, "invalid_json", "");   // lone low surrogate
        // jsoncpp's own message quotes a duplicate key, decoded: the answer must
        // still be UTF-8 (found by the fuzzer).
        try {
            parse(R"({"k\udc00": 1, "k\udc00": 2})");
            CPPUNIT_FAIL("a duplicate key must be refused");
        } catch (const exportd::RequestError& e) {
            CPPUNIT_ASSERT_EQUAL(std::string("invalid_json"), e.code());
            CPPUNIT_ASSERT(exportd::isValidUtf8(e.what()));
        }
    }

    void testMissingOrMistypedDatasetIsInvalidRequest()
    {
        expectError(R"({})", 400, "invalid_request", "dataset");
        expectError(R"({"format": "csv"})", 400, "invalid_request", "dataset");
        expectError(R"({"dataset": 5})", 400, "invalid_request", "dataset");
        expectError(R"({"dataset": null})", 400, "invalid_request", "dataset");
    }

    void testUnknownDatasetIsUnknownDataset() { expectError(R"({"dataset": "users"})", 400, "unknown_dataset", "dataset"); }

    void testUnknownTopLevelKeyIsNamed()
    {
        expectError(R"({"dataset": "orders", "colour": "red"})", 400, "invalid_request", "colour");
        expectError(R"({"dataset": "orders", "Format": "csv"})", 400, "invalid_request", "Format");
    }

    void testUnsupportedFormatIsRefused()
    {
        expectError(R"({"dataset": "orders", "format": "pdf"})", 400, "unsupported_format", "format");
        expectError(R"({"dataset": "orders", "format": "CSV"})", 400, "unsupported_format", "format");
        expectError(R"({"dataset": "orders", "format": 1})", 400, "invalid_request", "format");
        CPPUNIT_ASSERT_EQUAL(std::string("ndjson"), parse(R"({"dataset": "orders", "format": "ndjson"})").format);
    }

    void testRetentionMustBeAnIntegerWithinTheConfiguredOne()
    {
        for (const char* value : {"0", "-1", "61", "1.5", "30.0", "1e1", "\"30\"", "null", "true", "18446744073709551615"})
            expectError(std::string(R"({"dataset": "orders", "retention_seconds": )") + value + "}", 400, "invalid_request",
                        "retention_seconds");
        CPPUNIT_ASSERT_EQUAL(std::int64_t(1), parse(R"({"dataset": "orders", "retention_seconds": 1})").retentionSeconds);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(60), parse(R"({"dataset": "orders", "retention_seconds": 60})").retentionSeconds);
    }

    void testFiltersMustBeAnObject()
    {
        expectError(R"({"dataset": "orders", "filters": []})", 400, "invalid_request", "filters");
        expectError(R"({"dataset": "orders", "filters": null})", 400, "invalid_request", "filters");
        expectError(R"({"dataset": "orders", "filters": "status=paid"})", 400, "invalid_request", "filters");
        parse(R"({"dataset": "orders", "filters": {}})");
    }

    void testUnknownFilterFieldIsNamed()
    {
        expectError(R"({"dataset": "orders", "filters": {"customer_name": "x"}})", 400, "invalid_request",
                    "filters.customer_name");
    }

    void testEnumAcceptsOnlyDeclaredValues()
    {
        expectError(R"({"dataset": "orders", "filters": {"status": "lost"}})", 400, "invalid_request", "filters.status");
        expectError(R"({"dataset": "orders", "filters": {"status": ["paid", "lost"]}})", 400, "invalid_request",
                    "filters.status[1]");
        expectError(R"({"dataset": "orders", "filters": {"status": ["paid", 3]}})", 400, "invalid_request",
                    "filters.status[1]");
        expectError(R"({"dataset": "orders", "filters": {"status": {"contains": "pa"}}})", 400, "invalid_request",
                    "filters.status");
        expectError(R"({"dataset": "orders", "filters": {"status": 1}})", 400, "invalid_request", "filters.status");
        parse(R"({"dataset": "orders", "filters": {"status": ["paid", "shipped", "paid"]}})");
    }

    void testStringFilterShapes()
    {
        parse(R"({"dataset": "orders", "filters": {"country": "DE"}})");
        parse(R"({"dataset": "orders", "filters": {"country": ["DE", "FR"]}})");
        parse(R"({"dataset": "orders", "filters": {"customer_email": {"contains": "%_\\"}}})");
        expectError(R"({"dataset": "orders", "filters": {"customer_email": {"contains": ""}}})", 400, "invalid_request",
                    "filters.customer_email.contains");
        expectError(R"({"dataset": "orders", "filters": {"customer_email": {"contains": 5}}})", 400, "invalid_request",
                    "filters.customer_email.contains");
        expectError(R"({"dataset": "orders", "filters": {"customer_email": {"startswith": "a"}}})", 400, "invalid_request",
                    "filters.customer_email.startswith");
        expectError(R"({"dataset": "orders", "filters": {"customer_email": {"contains": "a", "x": 1}}})", 400,
                    "invalid_request", "filters.customer_email.x");
        expectError(R"({"dataset": "orders", "filters": {"customer_email": {}}})", 400, "invalid_request",
                    "filters.customer_email.contains");
        expectError(R"({"dataset": "orders", "filters": {"country": null}})", 400, "invalid_request", "filters.country");
        expectError(R"({"dataset": "orders", "filters": {"country": true}})", 400, "invalid_request", "filters.country");
    }

    void testEmptyValueListIsRefused()
    {
        expectError(R"({"dataset": "orders", "filters": {"country": []}})", 400, "invalid_request", "filters.country");
        expectError(R"({"dataset": "orders", "filters": {"status": []}})", 400, "invalid_request", "filters.status");
    }

    void testDateBoundsMustBeRealDates()
    {
        for (const char* bad : {"2026-02-30", "2026-13-01", "2025-02-29", "26-01-01", "2026-1-1", "2026-01-01T25:00:00Z",
                                "2026-01-01T10:00:00", "2026-01-01 10:00:00Z", "2026-01-01T10:00Z", "2026-01-01T10:00:60Z",
                                "2026-01-01T10:00:00+1:00", "2026-01-01T10:00:00.Z", "yesterday", "2026-01-01Z"})
            expectError(std::string(R"({"dataset": "orders", "filters": {"created_at": {"from": ")") + bad + "\"}}}",
                        400, "invalid_request", "filters.created_at.from");
        expectError(R"({"dataset": "orders", "filters": {"created_at": {"to": 20260101}}})", 400, "invalid_request",
                    "filters.created_at.to");
        for (const char* good : {"2024-02-29", "2026-01-01T10:00:00Z", "2026-01-01t10:00:00z", "2026-01-01T10:00:00.123456Z",
                                 "2026-01-01T10:00:00+05:30", "2026-01-01T10:00:00-08:00"})
            parse(std::string(R"({"dataset": "orders", "filters": {"created_at": {"from": ")") + good + "\"}}}");
    }

    void testDateFromAfterToIsRefusedAtFrom()
    {
        expectError(R"({"dataset": "orders", "filters": {"created_at": {"from": "2026-07-01", "to": "2026-06-30"}}})",
                    400, "invalid_request", "filters.created_at.from");
        // 00:30 at +01:00 is 23:30 UTC the day before: after a `to` of 23:00Z.
        expectError(R"({"dataset": "orders", "filters": {"created_at": {"from": "2026-01-02T00:30:00+01:00",
                    "to": "2026-01-01T23:00:00Z"}}})", 400, "invalid_request", "filters.created_at.from");
        // The same day on both sides is one whole day; a time within the `to` day is not after it.
        parse(R"({"dataset": "orders", "filters": {"created_at": {"from": "2026-06-30", "to": "2026-06-30"}}})");
        parse(R"({"dataset": "orders", "filters": {"created_at": {"from": "2026-06-30T23:59:59Z", "to": "2026-06-30"}}})");
    }

    void testDateFilterNeedsABound()
    {
        expectError(R"({"dataset": "orders", "filters": {"created_at": {}}})", 400, "invalid_request", "filters.created_at");
        expectError(R"({"dataset": "orders", "filters": {"created_at": "2026-01-01"}})", 400, "invalid_request",
                    "filters.created_at");
        expectError(R"({"dataset": "orders", "filters": {"created_at": {"from": "2026-01-01", "until": "x"}}})", 400,
                    "invalid_request", "filters.created_at.until");
    }

    void testIntegerFilterRefusesFloatsStringsAndHugeNumbers()
    {
        for (const char* bad : {"1.5", "1000.0", "1e3", "\"1000\"", "true", "[1000]", "9223372036854775808"})
            expectError(std::string(R"({"dataset": "orders", "filters": {"total_cents": )") + bad + "}}", 400,
                        "invalid_request", "filters.total_cents");
        expectError(R"({"dataset": "orders", "filters": {"total_cents": {"min": 1.5}}})", 400, "invalid_request",
                    "filters.total_cents.min");
        expectError(R"({"dataset": "orders", "filters": {"total_cents": {"max": "9"}}})", 400, "invalid_request",
                    "filters.total_cents.max");
        expectError(R"({"dataset": "orders", "filters": {"total_cents": {}}})", 400, "invalid_request",
                    "filters.total_cents");
        expectError(R"({"dataset": "orders", "filters": {"total_cents": {"min": 1, "eq": 2}}})", 400, "invalid_request",
                    "filters.total_cents.eq");
        parse(R"({"dataset": "orders", "filters": {"total_cents": -9223372036854775808}})");
        parse(R"({"dataset": "orders", "filters": {"total_cents": {"max": 9223372036854775807}}})");
    }

    void testIntegerMinAboveMaxIsRefusedAtMin()
    {
        expectError(R"({"dataset": "orders", "filters": {"total_cents": {"min": 5, "max": 4}}})", 400, "invalid_request",
                    "filters.total_cents.min");
        parse(R"({"dataset": "orders", "filters": {"total_cents": {"min": 5, "max": 5}}})");
    }

    void testCanonicalKeyTreatsAStringAsAOneElementArray()
    {
        CPPUNIT_ASSERT_EQUAL(key(R"({"country": "DE"})"), key(R"({"country": ["DE"]})"));
        CPPUNIT_ASSERT_EQUAL(key(R"({"total_cents": 5})"), key(R"({"total_cents": {"min": 5, "max": 5}})"));
    }

    void testCanonicalKeySortsAndDeduplicates()
    {
        CPPUNIT_ASSERT_EQUAL(key(R"({"status": ["paid", "shipped"], "country": "DE"})"),
                             key(R"({"country": ["DE", "DE"], "status": ["shipped", "paid", "shipped"]})"));
    }

    void testCanonicalKeyFillsInDefaults()
    {
        CPPUNIT_ASSERT_EQUAL(parse(R"({"dataset": "orders"})").canonicalKey,
                             parse(R"({"format": "csv", "retention_seconds": 60, "filters": {}, "dataset": "orders"})")
                                 .canonicalKey);
        CPPUNIT_ASSERT(parse(R"({"dataset": "orders"})").canonicalKey
                       != parse(R"({"dataset": "orders", "retention_seconds": 59})").canonicalKey);
    }

    void testCanonicalKeyConvertsDateBoundsToUtc()
    {
        CPPUNIT_ASSERT_EQUAL(key(R"({"created_at": {"from": "2026-01-01T01:00:00+01:00"}})"),
                             key(R"({"created_at": {"from": "2026-01-01"}})"));
        CPPUNIT_ASSERT_EQUAL(key(R"({"created_at": {"to": "2026-01-01T10:00:00.500-02:00"}})"),
                             key(R"({"created_at": {"to": "2026-01-01T12:00:00.5Z"}})"));
        // A date-only `to` (the whole day) is not the same as that day's midnight.
        CPPUNIT_ASSERT(key(R"({"created_at": {"to": "2026-01-01"}})")
                       != key(R"({"created_at": {"to": "2026-01-01T00:00:00Z"}})"));
        CPPUNIT_ASSERT(key(R"({"created_at": {"from": "2026-01-01"}})").find("2026-01-01T00:00:00Z") != std::string::npos);
    }

    void testCanonicalKeyDistinguishesDifferentRequests()
    {
        CPPUNIT_ASSERT(key(R"({"country": "DE"})") != key(R"({"country": "FR"})"));
        CPPUNIT_ASSERT(key(R"({"country": "DE"})") != key(R"({"customer_email": "DE"})"));
        CPPUNIT_ASSERT(key(R"({"customer_email": {"contains": "DE"}})") != key(R"({"customer_email": "DE"})"));
        CPPUNIT_ASSERT_EQUAL(key(R"({"customer_email": {"contains": "Example.ORG"}})"),
                             key(R"({"customer_email": {"contains": "example.org"}})"));
        CPPUNIT_ASSERT(parse(R"({"dataset": "orders", "format": "ndjson"})").canonicalKey
                       != parse(R"({"dataset": "orders"})").canonicalKey);
    }

private:
    ExportRequest parse(const std::string& body) { return parseExportRequest(body, *_catalog, 60, ""); }

    std::string key(const std::string& filters)
    {
        return parse(R"({"dataset": "orders", "filters": )" + filters + "}").canonicalKey;
    }

    void expectError(const std::string& body, int status, const std::string& code, const std::string& field)
    {
        try {
            parse(body);
            CPPUNIT_FAIL("expected " + code + " for " + body.substr(0, 200));
        } catch (const RequestError& e) {
            const std::string context = body.substr(0, 200) + " -> " + e.code() + " " + e.field() + ": " + e.what();
            CPPUNIT_ASSERT_EQUAL_MESSAGE(context, status, e.status());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(context, code, e.code());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(context, field, e.field());
            const std::string message = e.what();
            CPPUNIT_ASSERT_MESSAGE(context, !message.empty() && message.back() == '.');
        }
    }

    std::unique_ptr<DatasetCatalog> _catalog;
};

CPPUNIT_TEST_SUITE_REGISTRATION(ExportRequestTest);
