"""Owners and isolation (docs/api.md, Owners and sessions), end to end through nginx.

With basic auth (the quickstart with EXPORTD_HTPASSWD): the nginx user is the
owner; another user gets 404 for everything of someone else's and lists only its
own; a request that reaches exportd without the identity param gets 401.
Without auth (the demo): the id is the capability, an Authorization header or an
identity param never counts, and the list follows the session cookie.
"""
import base64
import json
import os
import unittest

import fcgi_client
from harness import ROOT, Stack

QUICK = {"country": "SE", "status": "refunded"}   # a few hundred rows: ready at once


def datasets_with_restricted(owner):
    with open(os.path.join(ROOT, "deploy", "datasets.json")) as f:
        doc = json.load(f)
    restricted = dict(doc["datasets"]["orders"])
    restricted.update(title="Restricted orders", allowed_owners=[owner])
    doc["datasets"]["restricted"] = restricted
    return doc


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def export_count(stack):
    return int(stack.registry_query("SELECT count(*) FROM exports"))


class OwnersWithBasicAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # 20,000 rows at 4,000 rows/s: a whole-dataset export runs for ~5 s.
        cls.stack = Stack(htpasswd_users={"alice": "pw", "bob": "pw2"}, retention=60, rows=20000,
                          name="owners-auth", datasets=datasets_with_restricted("alice"),
                          config={"export_rows_per_second": 4000}).start()
        cls.alice = cls.stack.client(auth=("alice", "pw"))
        cls.bob = cls.stack.client(auth=("bob", "pw2"))
        r = cls.alice.create(dict(dataset="orders", filters=QUICK))
        assert r.status == 202, r
        cls.alice_ready = cls.alice.wait_status(r.json()["id"], {"ready"})

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def fcgi(self, method, uri, **kw):
        return fcgi_client.request(self.stack.socket(), method, uri, **kw)

    def test_nginx_refuses_missing_or_wrong_credentials(self):
        anon = self.stack.client()
        for label, headers in [("no credentials", {}),
                               ("wrong password", {"Authorization": basic("alice", "nope")}),
                               ("unknown user", {"Authorization": basic("mallory", "pw")}),
                               ("not basic", {"Authorization": "Bearer alice"})]:
            r = anon.get("/api/exports", headers=headers)
            self.assertEqual(r.status, 401, label)
            self.assertNotIn(b"exports", r.body, label)
        r = anon.get("/api/exports/%s/download" % self.alice_ready["id"])
        self.assertEqual(r.status, 401, "download without credentials")
        h = anon.get("/api/health")
        self.assertEqual(h.status, 200, "health needs no credentials")

    def test_exportd_answers_401_when_the_identity_param_is_missing(self):
        before = export_count(self.stack)
        for params in [{}, {"REMOTE_USER": ""}]:
            r = self.fcgi("GET", "/api/exports", params=params)
            self.assertEqual(r.status, 401, params)
            self.assertEqual(r.json()["error"], "unauthorized")
            self.assertTrue(r.header("WWW-Authenticate").startswith("Basic"), "WWW-Authenticate")
            self.assertEqual(r.header("Cache-Control"), "no-store")
            r = self.fcgi("GET", "/api/exports/" + self.alice_ready["id"], params=params)
            self.assertEqual(r.status, 401)
            r = self.fcgi("POST", "/api/exports", body=json.dumps({"dataset": "orders"}).encode(),
                          headers={"Content-Type": "application/json"}, params=params)
            self.assertEqual(r.status, 401)
        # A header that looks like the identity is an HTTP_* param, never REMOTE_USER.
        r = self.fcgi("GET", "/api/exports", headers={"Remote-User": "alice", "X-Remote-User": "alice"})
        self.assertEqual(r.status, 401, "identity from a client header")
        self.assertEqual(export_count(self.stack), before, "a refused request creates nothing")
        self.assertEqual(self.fcgi("GET", "/api/health").status, 200, "health needs no identity")
        # The param named by identity_param counts.
        r = self.fcgi("GET", "/api/exports", params={"REMOTE_USER": "alice"})
        self.assertEqual(r.status, 200)
        self.assertIn(self.alice_ready["id"], [e["id"] for e in r.json()["exports"]])

    def test_another_owner_gets_404_for_status_download_delete_and_regenerate(self):
        eid = self.alice_ready["id"]
        unknown = "A" * 22
        before = export_count(self.stack)
        for method, path in [("GET", "/api/exports/%s"), ("GET", "/api/exports/%s/download"),
                             ("HEAD", "/api/exports/%s/download"), ("DELETE", "/api/exports/%s"),
                             ("POST", "/api/exports/%s/regenerate")]:
            theirs = self.bob.request(method, path % eid)
            nothing = self.bob.request(method, path % unknown)
            self.assertEqual(theirs.status, 404, "bob %s %s" % (method, path))
            self.assertEqual(theirs.header("Cache-Control"), "no-store")
            self.assertIsNone(theirs.header("Content-Disposition"))
            if method != "HEAD":
                self.assertEqual(theirs.json()["error"], "not_found")
                # Indistinguishable from an id that does not exist: no oracle.
                self.assertEqual(theirs.body, nothing.body, "same answer as an unknown id")
        # Also with a JSON body on delete/regenerate.
        self.assertEqual(self.bob.request("DELETE", "/api/exports/" + eid, body={}).status, 404)
        self.assertEqual(self.bob.post("/api/exports/%s/regenerate" % eid, body={}).status, 404)
        self.assertEqual(export_count(self.stack), before, "bob's regenerate created nothing")
        # Alice's export is untouched by all of that.
        st = self.alice.get("/api/exports/" + eid)
        self.assertEqual(st.status, 200)
        self.assertEqual(st.json()["status"], "ready")
        self.assertEqual(st.json()["download_count"], 0, "bob's download was not authorised")
        self.assertIn(eid, self.stack.export_files())
        d = self.alice.get("/api/exports/%s/download" % eid)
        self.assertEqual(d.status, 200)
        self.assertEqual(len(d.body), self.alice_ready["file"]["size_bytes"])

    def test_each_owner_lists_only_its_own_exports(self):
        r = self.bob.create(dict(dataset="orders", filters={"country": "NL", "status": "refunded"}))
        self.assertEqual(r.status, 202, r)
        bob_id = r.json()["id"]
        alice_ids = [e["id"] for e in self.alice.get("/api/exports?limit=500").json()["exports"]]
        bob_ids = [e["id"] for e in self.bob.get("/api/exports?limit=500").json()["exports"]]
        self.assertIn(self.alice_ready["id"], alice_ids)
        self.assertNotIn(bob_id, alice_ids, "alice does not list bob's")
        self.assertIn(bob_id, bob_ids)
        self.assertNotIn(self.alice_ready["id"], bob_ids, "bob does not list alice's")
        self.assertEqual(self.alice.get("/api/exports/" + bob_id).status, 404, "and alice cannot poll bob's")
        # The owner is the user, not a cookie: no session cookie is handed out.
        self.assertIsNone(r.header("Set-Cookie"))
        self.assertEqual(self.bob.cookies, {})
        # Another client of the same user (a second browser) sees the same list.
        other_device = self.stack.client(auth=("bob", "pw2"))
        self.assertIn(bob_id, [e["id"] for e in other_device.get("/api/exports").json()["exports"]])
        self.bob.wait_status(bob_id, {"ready"})

    def test_identity_headers_sent_by_a_client_do_not_change_the_owner(self):
        eid = self.alice_ready["id"]
        for headers in [{"Remote-User": "alice"}, {"X-Remote-User": "alice"}, {"X-Forwarded-User": "alice"},
                        {"Cookie": "exportd_session=" + "A" * 22}]:
            self.assertEqual(self.bob.get("/api/exports/" + eid, headers=headers).status, 404, headers)
            ids = [e["id"] for e in self.bob.get("/api/exports", headers=headers).json()["exports"]]
            self.assertNotIn(eid, ids, headers)

    def test_allowed_owners_hide_a_dataset_from_other_users(self):
        names = lambda c: [d["name"] for d in c.get("/api/datasets").json()["datasets"]]
        self.assertIn("restricted", names(self.alice))
        self.assertNotIn("restricted", names(self.bob))
        before = export_count(self.stack)
        r = self.bob.create(dict(dataset="restricted", filters=QUICK))
        self.assertEqual(r.status, 400, r)
        self.assertEqual((r.json()["error"], r.json()["field"]), ("unknown_dataset", "dataset"))
        self.assertEqual(export_count(self.stack), before)
        r = self.alice.create(dict(dataset="restricted", filters=QUICK))
        self.assertEqual(r.status, 202, r)
        self.alice.wait_status(r.json()["id"], {"ready"})

    def test_limit_and_double_click_count_per_user(self):
        long_bodies = [dict(dataset="orders", format=f) for f in ("csv", "ndjson", "xlsx")]
        ids = []
        try:
            for body in long_bodies:
                r = self.alice.create(body)
                self.assertEqual(r.status, 202, r)
                ids.append(r.json()["id"])
            before = export_count(self.stack)
            r = self.alice.create(dict(dataset="orders", format="csv", filters={"country": "DE"}))
            self.assertEqual(r.status, 429, r)
            self.assertEqual(r.json()["error"], "too_many_exports")
            self.assertTrue(r.header("Retry-After").isdigit(), "Retry-After")
            again = self.alice.create(dict(dataset="orders", format="ndjson", filters={}))
            self.assertEqual(again.status, 200, "double click answered before the limit: %r" % again)
            self.assertEqual(again.json()["id"], ids[1])
            self.assertEqual(again.header("Location"), "/api/exports/" + ids[1])
            self.assertEqual(export_count(self.stack), before, "neither created anything")
            # Bob has his own limit and his own double-click space.
            r = self.bob.create(dict(dataset="orders", format="ndjson"))
            self.assertEqual(r.status, 202, r)
            self.assertNotEqual(r.json()["id"], ids[1])
            ids.append(r.json()["id"])
        finally:
            for eid in ids:
                for c in (self.alice, self.bob):
                    c.request("DELETE", "/api/exports/" + eid)


class OwnersWithoutIdentityTest(unittest.TestCase):
    """The demo: no auth_basic, require_identity = false."""

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(retention=60, rows=20000, name="owners-demo",
                          datasets=datasets_with_restricted("mallory")).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_session_cookie_is_httponly_strict_and_lists_what_that_browser_made(self):
        browser = self.stack.client()
        r = browser.create(dict(dataset="orders", filters=QUICK))
        self.assertEqual(r.status, 202, r)
        cookie = r.header("Set-Cookie")
        self.assertRegex(cookie, r"^exportd_session=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; ")
        attrs = [a.strip() for a in cookie.split(";")[1:]]
        self.assertIn("HttpOnly", attrs)
        self.assertIn("SameSite=Strict", attrs)
        self.assertIn("Path=/", attrs)
        eid = r.json()["id"]
        listed = browser.get("/api/exports")
        self.assertIsNone(listed.header("Set-Cookie"), "no new cookie when the request carried one")
        self.assertEqual([e["id"] for e in listed.json()["exports"]], [eid],
                         "made without a cookie, listed under the new one")
        # A forged, malformed cookie is not a session: it gets a fresh one and an empty list.
        forged = self.stack.client()
        r = forged.get("/api/exports", headers={"Cookie": "exportd_session=../../" + eid})
        self.assertEqual(r.json()["exports"], [])
        self.assertIsNotNone(r.header("Set-Cookie"))
        browser.wait_status(eid, {"ready"})

    def test_the_id_is_the_capability(self):
        owner = self.stack.client()
        r = owner.create(dict(dataset="orders", filters={"country": "AT", "status": "refunded"}))
        ready = owner.wait_status(r.json()["id"], {"ready"})
        stranger = self.stack.client()
        self.assertEqual(stranger.get("/api/exports/" + ready["id"]).status, 200, "the id grants polling")
        self.assertEqual(stranger.get(ready["links"]["download"]).status, 200, "and downloading")
        self.assertEqual(stranger.get("/api/exports").json()["exports"], [], "but not listing")

    def test_basic_auth_for_a_made_up_user_gains_nothing(self):
        victim = self.stack.client()
        r = victim.create(dict(dataset="orders", filters={"country": "PL", "status": "refunded"}))
        self.assertEqual(r.status, 202, r)
        victim_id = r.json()["id"]
        victim.wait_status(victim_id, {"ready"})
        for user in ("mallory", "alice", ""):
            attacker = self.stack.client()
            h = {"Authorization": basic(user, "whatever")}
            listing = attacker.get("/api/exports", headers=h)
            self.assertEqual(listing.status, 200, "no 401: the header is not looked at")
            self.assertEqual(listing.json()["exports"], [], "%r lists nothing" % user)
            self.assertIsNotNone(listing.header("Set-Cookie"), "still an anonymous browser")
            names = [d["name"] for d in attacker.get("/api/datasets", headers=h).json()["datasets"]]
            self.assertNotIn("restricted", names, "%r does not unlock allowed_owners" % user)
            before = export_count(self.stack)
            refused = attacker.request("POST", "/api/exports", body={"dataset": "restricted"}, headers=h)
            self.assertEqual((refused.status, refused.json()["error"]), (400, "unknown_dataset"))
            self.assertEqual(export_count(self.stack), before)
            made = attacker.request("POST", "/api/exports", body={"dataset": "orders", "filters": QUICK}, headers=h)
            self.assertIn(made.status, (200, 202), made)
            mine = [e["id"] for e in attacker.get("/api/exports", headers=h).json()["exports"]]
            self.assertEqual(mine, [made.json()["id"]], "lists only what this browser made")
            self.assertNotIn(victim_id, mine)
            attacker.wait_status(made.json()["id"], {"ready"})
        # Nothing the registry keeps came from the Authorization header.
        rows = self.stack.registry_query(
            "SELECT count(*) FROM exports WHERE owner_key != '' OR list_key LIKE '%mallory%' "
            "OR list_key LIKE 'user:%' OR limit_key LIKE 'user:%'")
        self.assertEqual(rows, "0")
        self.assertNotIn(victim_id, [e["id"] for e in self.stack.client().get(
            "/api/exports", headers={"Authorization": basic("mallory", "x")}).json()["exports"]])

    def test_an_identity_param_reaching_exportd_is_ignored(self):
        # nginx fills REMOTE_USER from any Authorization header; exportd must not use it.
        r = fcgi_client.request(self.stack.socket(), "GET", "/api/datasets", params={"REMOTE_USER": "mallory"})
        self.assertEqual(r.status, 200)
        self.assertNotIn("restricted", [d["name"] for d in r.json()["datasets"]])
        r = fcgi_client.request(self.stack.socket(), "GET", "/api/exports", params={"REMOTE_USER": "mallory"})
        self.assertEqual((r.status, r.json()["exports"]), (200, []))
        self.assertIsNotNone(r.header("Set-Cookie"))


class IdentityParamTest(unittest.TestCase):
    """The owner comes from the param that identity_param names, and from no other."""

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(retention=60, rows=2000, name="owners-param",
                          config={"require_identity": "true", "identity_param": "AUTH_USER"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def fcgi(self, method, uri, params, body=b""):
        headers = {"Content-Type": "application/json"} if body else {}
        return fcgi_client.request(self.stack.socket(), method, uri, body=body, headers=headers, params=params)

    def test_only_the_configured_param_names_the_owner(self):
        body = json.dumps({"dataset": "orders", "filters": QUICK}).encode()
        self.assertEqual(self.fcgi("POST", "/api/exports", {"REMOTE_USER": "alice"}, body).status, 401,
                         "REMOTE_USER is not the configured param")
        r = self.fcgi("POST", "/api/exports", {"AUTH_USER": "alice"}, body)
        self.assertEqual(r.status, 202, r)
        eid = r.json()["id"]
        self.assertEqual(self.fcgi("GET", "/api/exports/" + eid, {"AUTH_USER": "alice"}).status, 200)
        self.assertEqual(self.fcgi("GET", "/api/exports/" + eid, {"AUTH_USER": "bob", "REMOTE_USER": "alice"}).status,
                         404)
        self.assertEqual(self.fcgi("GET", "/api/exports/" + eid, {"AUTH_USER": "Alice"}).status, 404,
                         "owners are compared exactly")
        # Through nginx nothing sets AUTH_USER: a Basic header does not help.
        r = self.stack.client().get("/api/exports/" + eid, headers={"Authorization": basic("alice", "x")})
        self.assertEqual(r.status, 401)
        self.assertEqual(self.stack.client().get("/api/health").status, 200)


if __name__ == "__main__":
    unittest.main()
