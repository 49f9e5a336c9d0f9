#include "api/SessionCookie.h"

#include <cppunit/extensions/HelperMacros.h>

#include <mutex>
#include <thread>
#include <vector>

using exportd::Request;
using exportd::SessionCookie;

namespace {

Request withCookie(const std::string& cookie, bool https = false)
{
    Request r;
    r.headers["cookie"] = cookie;
    if (https)
        r.params["HTTPS"] = "on";
    return r;
}

} // namespace

class SessionCookieTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SessionCookieTest);
    CPPUNIT_TEST(testMintedValueVerifies);
    CPPUNIT_TEST(testInventedOrEditedValuesAreRefused);
    CPPUNIT_TEST(testAnotherKeysValueIsRefused);
    CPPUNIT_TEST(testValueIsHmacSha256OfTheIdInBase64Url);
    CPPUNIT_TEST(testEachThreadVerifiesWithItsInstancesKey);
    CPPUNIT_TEST(testSessionOfFindsTheVerifiedValueAmongOthers);
    CPPUNIT_TEST(testTwoDifferentVerifiedSessionsCountAsNone);
    CPPUNIT_TEST(testHttpsUsesOnlyTheHostPrefixedName);
    CPPUNIT_TEST(testSetCookieAttributesFollowTheScheme);
    CPPUNIT_TEST(testShortKeyIsRefused);
    CPPUNIT_TEST_SUITE_END();

public:
    void testMintedValueVerifies()
    {
        SessionCookie c(KEY);
        const std::string a = c.mint(), b = c.mint();
        CPPUNIT_ASSERT(a != b);
        CPPUNIT_ASSERT(c.verify(a));
        CPPUNIT_ASSERT(c.verify(b));
        CPPUNIT_ASSERT_EQUAL(std::size_t(66), a.size());
        CPPUNIT_ASSERT(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
                       == std::string::npos);
    }

    void testInventedOrEditedValuesAreRefused()
    {
        SessionCookie c(KEY);
        const std::string good = c.mint();
        CPPUNIT_ASSERT(!c.verify(""));
        CPPUNIT_ASSERT(!c.verify(std::string(22, 'A')));             // the old, unsigned form
        CPPUNIT_ASSERT(!c.verify(good.substr(0, 22)));
        CPPUNIT_ASSERT(!c.verify(good + "A"));
        CPPUNIT_ASSERT(!c.verify(good.substr(0, good.size() - 1)));
        for (std::size_t i : {std::size_t(0), std::size_t(21), std::size_t(23), good.size() - 1}) {
            std::string edited = good;
            edited[i] = edited[i] == 'A' ? 'B' : 'A';
            CPPUNIT_ASSERT_MESSAGE("position " + std::to_string(i), !c.verify(edited));
        }
        std::string noDot = good;
        noDot[22] = 'x';
        CPPUNIT_ASSERT(!c.verify(noDot));
    }

    void testAnotherKeysValueIsRefused()
    {
        SessionCookie ours(KEY), theirs(std::string(KEY) + "-other");
        CPPUNIT_ASSERT(!ours.verify(theirs.mint()));
    }

    // Verifies the value's form against one computed elsewhere (HMAC-SHA256 of
    // "exportd-session:" + id, base64url without padding), so that cookies
    // minted before an upgrade still verify after it.
    void testValueIsHmacSha256OfTheIdInBase64Url()
    {
        SessionCookie c(KEY);
        CPPUNIT_ASSERT(c.verify("ABCDEFGHIJKLMNOPQRSTdA.2_ds8PbSauFVAPF6-S2NlOrQ8XvM4ebkVt5qifUtos8"));
        CPPUNIT_ASSERT(c.verify("ABCDEFGHIJKLMNOPQRSTcQ.Qk5Ote49LK5xW6dhepbAURDl_K_lvb-ZO7V8rbl1maU"));
        CPPUNIT_ASSERT(!c.verify("ABCDEFGHIJKLMNOPQRSTcQ.2_ds8PbSauFVAPF6-S2NlOrQ8XvM4ebkVt5qifUtos8"));
    }

    // Verifies that instances with different keys, used in turn on the same
    // threads and on several threads at once, each verify with their own key.
    void testEachThreadVerifiesWithItsInstancesKey()
    {
        std::vector<std::string> failures;
        std::mutex failuresMutex;
        auto run = [&](int round) {
            SessionCookie ours(KEY), theirs(std::string(KEY) + "-other");
            for (int i = 0; i < 200; ++i) {
                const std::string a = ours.mint(), b = theirs.mint();
                if (!ours.verify(a) || theirs.verify(a) || !theirs.verify(b) || ours.verify(b)) {
                    std::lock_guard<std::mutex> lock(failuresMutex);
                    failures.push_back("round " + std::to_string(round) + " value " + std::to_string(i));
                }
            }
        };
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back(run, t);
        for (auto& t : threads)
            t.join();
        run(4); // and on this thread, after instances at the same addresses were destroyed
        run(5);
        CPPUNIT_ASSERT_EQUAL(std::string(), failures.empty() ? std::string() : failures.front());
    }

    void testSessionOfFindsTheVerifiedValueAmongOthers()
    {
        SessionCookie c(KEY);
        const std::string v = c.mint();
        CPPUNIT_ASSERT(!c.sessionOf(withCookie("")).has_value());
        CPPUNIT_ASSERT(!c.sessionOf(withCookie("exportd_session=" + std::string(22, 'A'))).has_value());
        auto found = c.sessionOf(withCookie("theme=dark; exportd_session=forged; exportd_session=" + v + "; x=1"));
        CPPUNIT_ASSERT(found.has_value());
        CPPUNIT_ASSERT_EQUAL(v, *found);
        // The same value twice is one session.
        found = c.sessionOf(withCookie("exportd_session=" + v + ";exportd_session=" + v));
        CPPUNIT_ASSERT(found && *found == v);
        // Another cookie's name ending the same way is not ours.
        CPPUNIT_ASSERT(!c.sessionOf(withCookie("xexportd_session=" + v)).has_value());
    }

    // Verifies that a session planted beside the browser's own (from a sibling
    // subdomain) is not followed: neither value is trusted.
    void testTwoDifferentVerifiedSessionsCountAsNone()
    {
        SessionCookie c(KEY);
        const std::string mine = c.mint(), planted = c.mint();
        CPPUNIT_ASSERT(!c.sessionOf(withCookie("exportd_session=" + planted + "; exportd_session=" + mine)).has_value());
    }

    void testHttpsUsesOnlyTheHostPrefixedName()
    {
        SessionCookie c(KEY);
        const std::string v = c.mint();
        CPPUNIT_ASSERT(!c.sessionOf(withCookie("exportd_session=" + v, true)).has_value());
        auto found = c.sessionOf(withCookie("__Host-exportd_session=" + v, true));
        CPPUNIT_ASSERT(found && *found == v);
        CPPUNIT_ASSERT(!c.sessionOf(withCookie("__Host-exportd_session=" + v, false)).has_value());
    }

    void testSetCookieAttributesFollowTheScheme()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("exportd_session=V; Path=/; HttpOnly; SameSite=Strict"),
                             SessionCookie::setCookie(withCookie(""), "V"));
        CPPUNIT_ASSERT_EQUAL(std::string("__Host-exportd_session=V; Path=/; Secure; HttpOnly; SameSite=Strict"),
                             SessionCookie::setCookie(withCookie("", true), "V"));
    }

    void testShortKeyIsRefused()
    {
        CPPUNIT_ASSERT_THROW(SessionCookie("short"), std::invalid_argument);
    }

private:
    static constexpr const char* KEY = "0123456789abcdef0123456789abcdef0123456789";
};

CPPUNIT_TEST_SUITE_REGISTRATION(SessionCookieTest);
