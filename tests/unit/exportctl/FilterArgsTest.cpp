#include "CtlError.h"
#include "FilterArgs.h"

#include <cppunit/extensions/HelperMacros.h>

#include <json/reader.h>
#include <json/value.h>

#include <memory>
#include <string>
#include <vector>

using exportd::ctl::CtlError;
using exportd::ctl::EXIT_USAGE;
using exportd::ctl::FilterFields;
using exportd::ctl::filterFieldsOf;
using exportd::ctl::parseFilters;

namespace {

// Part of a GET /api/datasets answer, with a filter of each type.
const char* const DATASETS = R"({"datasets": [
  {"name": "orders", "formats": ["csv"], "filters": [
    {"field": "status", "type": "enum", "values": ["shipped", "paid", "cancelled"]},
    {"field": "country", "type": "string"},
    {"field": "created_at", "type": "date"},
    {"field": "total_cents", "type": "integer"}]},
  {"name": "plain", "formats": ["csv"], "filters": []}]})";

Json::Value json(const std::string& text)
{
    Json::CharReaderBuilder builder;
    std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    Json::Value out;
    std::string errors;
    CPPUNIT_ASSERT(reader->parse(text.data(), text.data() + text.size(), &out, &errors));
    return out;
}

FilterFields ordersFields()
{
    bool found = false;
    const FilterFields fields = filterFieldsOf(json(DATASETS), "orders", &found);
    CPPUNIT_ASSERT(found);
    return fields;
}

Json::Value orders(const std::vector<std::string>& expressions)
{
    return parseFilters(expressions, ordersFields(), true);
}

Json::Value unlisted(const std::vector<std::string>& expressions)
{
    return parseFilters(expressions, FilterFields(), false);
}

// The message of the usage error; fails when the expressions parse.
std::string usageErrorOf(const std::vector<std::string>& expressions, bool known = true)
{
    try {
        parseFilters(expressions, known ? ordersFields() : FilterFields(), known);
    } catch (const CtlError& e) {
        CPPUNIT_ASSERT_EQUAL(int(EXIT_USAGE), e.exitCode());
        return e.what();
    }
    CPPUNIT_FAIL("expected a usage error");
    return "";
}

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

} // namespace

class FilterArgsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FilterArgsTest);
    CPPUNIT_TEST(testFilterFieldsOfListedDatasetReadsTypesAndValues);
    CPPUNIT_TEST(testFilterFieldsOfUnlistedDatasetIsNotFound);
    CPPUNIT_TEST(testFilterFieldsOfMalformedAnswerIsNotFound);
    CPPUNIT_TEST(testParseEnumListGivesArray);
    CPPUNIT_TEST(testParseEnumSingleValueGivesString);
    CPPUNIT_TEST(testParseEnumUndeclaredValueIsUsageError);
    CPPUNIT_TEST(testParseEscapedCommaIsLiteral);
    CPPUNIT_TEST(testParseEmptyListItemIsUsageError);
    CPPUNIT_TEST(testParseStringNumberStaysString);
    CPPUNIT_TEST(testParseDateRangeGivesFromAndTo);
    CPPUNIT_TEST(testParseDateOpenRangeKeepsOneSide);
    CPPUNIT_TEST(testParseDateSingleDayGivesThatDay);
    CPPUNIT_TEST(testParseIntegerRangeGivesMinAndMaxNumbers);
    CPPUNIT_TEST(testParseIntegerSingleValueGivesNumber);
    CPPUNIT_TEST(testParseIntegerNotANumberIsUsageError);
    CPPUNIT_TEST(testParseIntegerRangeSideNotANumberIsUsageError);
    CPPUNIT_TEST(testParseIntegerOverflowIsUsageError);
    CPPUNIT_TEST(testParseRangeWithoutSidesIsUsageError);
    CPPUNIT_TEST(testParseContainsOnStringGivesContainsObject);
    CPPUNIT_TEST(testParseContainsOnNonStringIsUsageError);
    CPPUNIT_TEST(testParseUnknownFieldIsUsageErrorListingFilters);
    CPPUNIT_TEST(testParseFieldOfDatasetWithoutFiltersIsUsageError);
    CPPUNIT_TEST(testParseSameFieldTwiceIsUsageError);
    CPPUNIT_TEST(testParseMissingOperatorIsUsageError);
    CPPUNIT_TEST(testParseEmptyValueIsUsageError);
    CPPUNIT_TEST(testParseValueWithEqualsKeepsTheRest);
    CPPUNIT_TEST(testParseSeveralExpressionsGiveOneObject);
    CPPUNIT_TEST(testParseUnlistedDatasetGuessesNumber);
    CPPUNIT_TEST(testParseUnlistedDatasetGuessesIntegerOrDateRange);
    CPPUNIT_TEST(testParseUnlistedDatasetGuessesListAndContains);
    CPPUNIT_TEST(testParseUnlistedDatasetAcceptsAnyField);
    CPPUNIT_TEST_SUITE_END();

public:
    void testFilterFieldsOfListedDatasetReadsTypesAndValues()
    {
        const FilterFields fields = ordersFields();
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), fields.size());
        CPPUNIT_ASSERT_EQUAL(std::string("enum"), fields.at("status").type);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), fields.at("status").values.size());
        CPPUNIT_ASSERT_EQUAL(std::string("paid"), fields.at("status").values[1]);
        CPPUNIT_ASSERT_EQUAL(std::string("date"), fields.at("created_at").type);
        CPPUNIT_ASSERT_EQUAL(std::string("integer"), fields.at("total_cents").type);
    }

    void testFilterFieldsOfUnlistedDatasetIsNotFound()
    {
        bool found = true;
        CPPUNIT_ASSERT(filterFieldsOf(json(DATASETS), "customers", &found).empty());
        CPPUNIT_ASSERT(!found);
    }

    void testFilterFieldsOfMalformedAnswerIsNotFound()
    {
        bool found = true;
        CPPUNIT_ASSERT(filterFieldsOf(json(R"({"datasets": {"name": "orders"}})"), "orders", &found).empty());
        CPPUNIT_ASSERT(!found);
    }

    void testParseEnumListGivesArray()
    {
        const Json::Value f = orders({"status=shipped,paid"});
        CPPUNIT_ASSERT(f["status"].isArray());
        CPPUNIT_ASSERT_EQUAL(Json::ArrayIndex(2), f["status"].size());
        CPPUNIT_ASSERT_EQUAL(std::string("shipped"), f["status"][0].asString());
        CPPUNIT_ASSERT_EQUAL(std::string("paid"), f["status"][1].asString());
    }

    void testParseEnumSingleValueGivesString()
    {
        const Json::Value f = orders({"status=paid"});
        CPPUNIT_ASSERT(f["status"].isString());
        CPPUNIT_ASSERT_EQUAL(std::string("paid"), f["status"].asString());
    }

    void testParseEnumUndeclaredValueIsUsageError()
    {
        const std::string message = usageErrorOf({"status=shipped,lost"});
        CPPUNIT_ASSERT(contains(message, "'lost' is not one of shipped, paid, cancelled"));
    }

    void testParseEscapedCommaIsLiteral()
    {
        const Json::Value f = orders({"country=a\\,b,c\\\\"});
        CPPUNIT_ASSERT(f["country"].isArray());
        CPPUNIT_ASSERT_EQUAL(std::string("a,b"), f["country"][0].asString());
        CPPUNIT_ASSERT_EQUAL(std::string("c\\"), f["country"][1].asString());
    }

    void testParseEmptyListItemIsUsageError()
    {
        CPPUNIT_ASSERT(contains(usageErrorOf({"status=paid,,shipped"}), "empty value in the list"));
        CPPUNIT_ASSERT(contains(usageErrorOf({"country=DE,"}), "empty value in the list"));
    }

    // The field's type decides: "42" for a string field is the text "42".
    void testParseStringNumberStaysString()
    {
        const Json::Value f = orders({"country=42"});
        CPPUNIT_ASSERT(f["country"].isString());
        CPPUNIT_ASSERT_EQUAL(std::string("42"), f["country"].asString());
    }

    void testParseDateRangeGivesFromAndTo()
    {
        const Json::Value f = orders({"created_at=2026-01-01..2026-06-30"});
        CPPUNIT_ASSERT_EQUAL(std::string("2026-01-01"), f["created_at"]["from"].asString());
        CPPUNIT_ASSERT_EQUAL(std::string("2026-06-30"), f["created_at"]["to"].asString());
    }

    void testParseDateOpenRangeKeepsOneSide()
    {
        const Json::Value to = orders({"created_at=..2026-06-30"})["created_at"];
        CPPUNIT_ASSERT(!to.isMember("from"));
        CPPUNIT_ASSERT_EQUAL(std::string("2026-06-30"), to["to"].asString());
        const Json::Value from = orders({"created_at=2026-01-01.."})["created_at"];
        CPPUNIT_ASSERT_EQUAL(std::string("2026-01-01"), from["from"].asString());
        CPPUNIT_ASSERT(!from.isMember("to"));
    }

    void testParseDateSingleDayGivesThatDay()
    {
        const Json::Value f = orders({"created_at=2026-03-01"})["created_at"];
        CPPUNIT_ASSERT_EQUAL(std::string("2026-03-01"), f["from"].asString());
        CPPUNIT_ASSERT_EQUAL(std::string("2026-03-01"), f["to"].asString());
    }

    void testParseIntegerRangeGivesMinAndMaxNumbers()
    {
        const Json::Value f = orders({"total_cents=1000..50000"})["total_cents"];
        CPPUNIT_ASSERT(f["min"].isIntegral());
        CPPUNIT_ASSERT_EQUAL(Json::Int64(1000), f["min"].asInt64());
        CPPUNIT_ASSERT_EQUAL(Json::Int64(50000), f["max"].asInt64());
        const Json::Value open = orders({"total_cents=-5.."})["total_cents"];
        CPPUNIT_ASSERT_EQUAL(Json::Int64(-5), open["min"].asInt64());
        CPPUNIT_ASSERT(!open.isMember("max"));
    }

    void testParseIntegerSingleValueGivesNumber()
    {
        const Json::Value f = orders({"total_cents=42"});
        CPPUNIT_ASSERT(f["total_cents"].isIntegral());
        CPPUNIT_ASSERT_EQUAL(Json::Int64(42), f["total_cents"].asInt64());
    }

    void testParseIntegerNotANumberIsUsageError()
    {
        CPPUNIT_ASSERT(contains(usageErrorOf({"total_cents=12x"}), "'12x' is not a whole number or a range"));
        CPPUNIT_ASSERT(contains(usageErrorOf({"total_cents= 12"}), "is not a whole number"));
    }

    void testParseIntegerRangeSideNotANumberIsUsageError()
    {
        CPPUNIT_ASSERT(contains(usageErrorOf({"total_cents=1..ten"}), "'ten' is not a whole number"));
    }

    void testParseIntegerOverflowIsUsageError()
    {
        CPPUNIT_ASSERT(contains(usageErrorOf({"total_cents=99999999999999999999"}), "is not a whole number"));
    }

    void testParseRangeWithoutSidesIsUsageError()
    {
        CPPUNIT_ASSERT(contains(usageErrorOf({"created_at=.."}), "a range needs at least one side"));
        CPPUNIT_ASSERT(contains(usageErrorOf({"total_cents=.."}), "a range needs at least one side"));
    }

    void testParseContainsOnStringGivesContainsObject()
    {
        const Json::Value f = orders({"country~De,u"});
        CPPUNIT_ASSERT_EQUAL(std::string("De,u"), f["country"]["contains"].asString());
    }

    void testParseContainsOnNonStringIsUsageError()
    {
        CPPUNIT_ASSERT(contains(usageErrorOf({"status~pa"}), "'~' (contains) works on string fields; status is enum"));
        CPPUNIT_ASSERT(contains(usageErrorOf({"total_cents~4"}), "total_cents is integer"));
    }

    void testParseUnknownFieldIsUsageErrorListingFilters()
    {
        const std::string message = usageErrorOf({"colour=red"});
        CPPUNIT_ASSERT(contains(message, "'colour' is not a filter of this dataset"));
        CPPUNIT_ASSERT(contains(message, "(filters: country, created_at, status, total_cents)"));
    }

    void testParseFieldOfDatasetWithoutFiltersIsUsageError()
    {
        bool found = false;
        const FilterFields none = filterFieldsOf(json(DATASETS), "plain", &found);
        CPPUNIT_ASSERT(found);
        try {
            parseFilters({"status=paid"}, none, true);
        } catch (const CtlError& e) {
            CPPUNIT_ASSERT_EQUAL(int(EXIT_USAGE), e.exitCode());
            CPPUNIT_ASSERT(contains(e.what(), "(it has none)"));
            return;
        }
        CPPUNIT_FAIL("expected a usage error");
    }

    void testParseSameFieldTwiceIsUsageError()
    {
        CPPUNIT_ASSERT(contains(usageErrorOf({"status=paid", "status=shipped"}), "status is filtered twice"));
    }

    void testParseMissingOperatorIsUsageError()
    {
        CPPUNIT_ASSERT(contains(usageErrorOf({"status"}), "expected FIELD=VALUE or FIELD~TEXT"));
        CPPUNIT_ASSERT(contains(usageErrorOf({"=paid"}), "expected FIELD=VALUE or FIELD~TEXT"));
    }

    void testParseEmptyValueIsUsageError()
    {
        CPPUNIT_ASSERT(contains(usageErrorOf({"status="}), "empty value"));
        CPPUNIT_ASSERT(contains(usageErrorOf({"country~"}), "empty value"));
    }

    // The first '=' or '~' separates the field from the value.
    void testParseValueWithEqualsKeepsTheRest()
    {
        const Json::Value f = orders({"country=a=b~c"});
        CPPUNIT_ASSERT_EQUAL(std::string("a=b~c"), f["country"].asString());
    }

    void testParseSeveralExpressionsGiveOneObject()
    {
        const Json::Value f = orders({"status=paid", "country=DE", "total_cents=1..2"});
        CPPUNIT_ASSERT_EQUAL(Json::ArrayIndex(3), f.size());
        CPPUNIT_ASSERT(orders({}).isObject());
        CPPUNIT_ASSERT(orders({}).empty());
    }

    void testParseUnlistedDatasetGuessesNumber()
    {
        const Json::Value f = unlisted({"n=42", "s=DE"});
        CPPUNIT_ASSERT(f["n"].isIntegral());
        CPPUNIT_ASSERT_EQUAL(Json::Int64(42), f["n"].asInt64());
        CPPUNIT_ASSERT(f["s"].isString());
    }

    void testParseUnlistedDatasetGuessesIntegerOrDateRange()
    {
        const Json::Value f = unlisted({"n=1..", "d=2026-01-01..2026-02-01"});
        CPPUNIT_ASSERT_EQUAL(Json::Int64(1), f["n"]["min"].asInt64());
        CPPUNIT_ASSERT(!f["n"].isMember("from"));
        CPPUNIT_ASSERT_EQUAL(std::string("2026-01-01"), f["d"]["from"].asString());
        CPPUNIT_ASSERT_EQUAL(std::string("2026-02-01"), f["d"]["to"].asString());
        CPPUNIT_ASSERT(contains(usageErrorOf({"n=.."}, false), "a range needs at least one side"));
    }

    void testParseUnlistedDatasetGuessesListAndContains()
    {
        const Json::Value f = unlisted({"s=a,b", "e~x"});
        CPPUNIT_ASSERT(f["s"].isArray());
        CPPUNIT_ASSERT_EQUAL(Json::ArrayIndex(2), f["s"].size());
        CPPUNIT_ASSERT_EQUAL(std::string("x"), f["e"]["contains"].asString());
    }

    // Without the dataset's description there is no field to refuse: the
    // server answers for it.
    void testParseUnlistedDatasetAcceptsAnyField()
    {
        CPPUNIT_ASSERT(unlisted({"colour=red"}).isMember("colour"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(FilterArgsTest);
