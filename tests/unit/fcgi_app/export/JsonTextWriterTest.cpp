#include "export/JsonText.h"

#include "cleanup/Clock.h"

#include <cppunit/extensions/HelperMacros.h>

#include <json/value.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

using exportd::JsonTextWriter;

/// The export object's writer must give jsoncpp's bytes: strings escaped the
/// way jsoncpp escapes them (with emitUTF8), whatever their length or where an
/// escape falls in the 8-byte scan, and nothing lost when it has to grow.
class JsonTextWriterTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(JsonTextWriterTest);
    CPPUNIT_TEST(testQuotedIsJsoncppForEveryByte);
    CPPUNIT_TEST(testQuotedIsJsoncppForRandomStrings);
    CPPUNIT_TEST(testGrowsFromNothingAndKeepsWhatWasThere);
    CPPUNIT_TEST(testIntegersAndTimes);
    CPPUNIT_TEST_SUITE_END();

    static std::string viaJsoncpp(const std::string& s) { return exportd::compactJson(Json::Value(s)); }

    static std::string viaWriter(const std::string& s, std::size_t expected)
    {
        std::string out;
        {
            JsonTextWriter w(out, expected);
            w.quoted(s);
        }
        return out;
    }

public:
    void testQuotedIsJsoncppForEveryByte()
    {
        for (int c = 0; c < 256; ++c) {
            // The byte alone, and at each position of a 17-byte plain run.
            const std::string alone(1, static_cast<char>(c));
            CPPUNIT_ASSERT_EQUAL(viaJsoncpp(alone), viaWriter(alone, 0));
            for (int at = 0; at < 17; ++at) {
                std::string s(17, 'a');
                s[static_cast<std::size_t>(at)] = static_cast<char>(c);
                CPPUNIT_ASSERT_EQUAL(viaJsoncpp(s), viaWriter(s, 4));
            }
        }
    }

    void testQuotedIsJsoncppForRandomStrings()
    {
        std::mt19937 random(7);
        // Mostly printable, now and then a byte to escape or a UTF-8 byte.
        const std::string alphabet = std::string("abcXYZ019 .-_/:{}[]\xc3\xb6\xe2\x82\xac") + "\"\\\n\r\t\b\f\x01\x1f\x7f";
        std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1), length(0, 200);
        for (int i = 0; i < 20000; ++i) {
            std::string s(length(random), ' ');
            for (auto& ch : s)
                ch = alphabet[pick(random)];
            const std::string want = viaJsoncpp(s), got = viaWriter(s, i % 3 == 0 ? 0 : 64);
            if (want != got)
                CPPUNIT_FAIL("for " + want + " got " + got);
        }
    }

    void testGrowsFromNothingAndKeepsWhatWasThere()
    {
        std::string out = "[";
        {
            JsonTextWriter w(out, 0);
            for (int i = 0; i < 1000; ++i) {
                w.raw(i ? "," : "");
                w.quoted(std::string(static_cast<std::size_t>(i % 50), '"'));
            }
            w.raw(']');
        }
        Json::Value parsed;
        std::string error;
        CPPUNIT_ASSERT_MESSAGE(error, exportd::parseStrictJson("{\"a\":" + out + "}", parsed, error));
        CPPUNIT_ASSERT_EQUAL(1000u, parsed["a"].size());
        CPPUNIT_ASSERT_EQUAL(std::string(49, '"'), parsed["a"][999u].asString());
        CPPUNIT_ASSERT_EQUAL('[', out.front());
        CPPUNIT_ASSERT_EQUAL(']', out.back());
    }

    void testIntegersAndTimes()
    {
        std::string out;
        {
            JsonTextWriter w(out, 2);
            w.integer(0), w.raw(','), w.integer(-42), w.raw(',');
            w.integer(std::numeric_limits<std::int64_t>::min()), w.raw(',');
            w.integer(std::numeric_limits<std::int64_t>::max()), w.raw(',');
            w.time(1795952785123), w.raw(','), w.time(-1);
        }
        CPPUNIT_ASSERT_EQUAL(std::string("0,-42,-9223372036854775808,9223372036854775807,"
                                         "\"2026-11-29T11:46:25.123Z\",\"1969-12-31T23:59:59.999Z\""),
                             out);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(JsonTextWriterTest);
