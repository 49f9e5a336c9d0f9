"""Sessions and per-owner limits, end to end through nginx (README "Security").

The session cookie is minted and signed by exportd: an invented, edited or
planted value counts as no cookie. The double-click rule merges only requests
of one session. An owner's creations per minute, the size of stored filters,
the bytes an owner's files hold and the process's job queue are bounded, each
with a clear 4xx/5xx and Retry-After where waiting helps. Also what real
clients tripped on: health and metrics hand out no cookie, a body that is JSON
but not an object is invalid_request, the parts of one resumed download count
once, and labelled metric families show their series from the start.
"""
import os
import re
import signal
import unittest

import fcgi_client
from harness import ROOT, Client, Stack, metric_value, wait_until

XLSX_SLOW = {"dataset": "orders", "format": "xlsx", "filters": {"country": "DE"}}
QUICK = {"country": "SE", "status": "refunded"}   # a few hundred rows: ready at once
COOKIE_RE = r"^exportd_session=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict$"


def registry_rows(stack):
    return int(stack.registry_query("SELECT count(*) FROM exports"))


def cookieless(stack):
    """A client that never keeps a cookie (curl without a jar, exportctl's first run)."""
    c = stack.client()
    original = c.request

    def request(*a, **kw):
        r = original(*a, **kw)
        c.cookies.clear()
        return r
    c.request = request
    return c


class SessionsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # 20,000 rows at 2,000 rows/s: a whole-country XLSX runs for a while.
        cls.stack = Stack(retention=60, rows=20000, name="sessions",
                          config={"export_rows_per_second": 2000}).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_two_cookieless_clients_never_share_an_export(self):
        first, second = cookieless(self.stack), cookieless(self.stack)
        a = first.create(XLSX_SLOW)
        self.assertEqual(a.status, 202, a)
        b = second.create(XLSX_SLOW)
        self.assertEqual(b.status, 202, b)
        self.assertNotEqual(a.json()["id"], b.json()["id"], "another client's export was handed out")
        # Each answer started its own session; neither lists the other's.
        session_b = {"Cookie": b.header("Set-Cookie").split(";")[0]}
        listed = [e["id"] for e in self.stack.client().get("/api/exports", headers=session_b).json()["exports"]]
        self.assertEqual(listed, [b.json()["id"]])
        for r, c in ((a, first), (b, second)):
            self.assertEqual(c.request("DELETE", "/api/exports/" + r.json()["id"]).status, 200)

    def test_a_double_click_within_one_session_still_merges(self):
        c = self.stack.client()
        c.get("/api/datasets")
        a = c.create(XLSX_SLOW)
        b = c.create(XLSX_SLOW)
        self.assertEqual((a.status, b.status), (202, 200), (a, b))
        self.assertEqual(a.json()["id"], b.json()["id"])
        c.request("DELETE", "/api/exports/" + a.json()["id"])

    def test_an_invented_cookie_counts_as_none(self):
        victim = self.stack.client()
        victim.get("/api/datasets")
        made = victim.create(dict(dataset="orders", filters=QUICK))
        self.assertEqual(made.status, 202, made)
        # The old, unsigned shape, a well-formed id, an edited real value.
        real = victim.cookies["exportd_session"]
        edited = real[:-1] + ("A" if real[-1] != "A" else "B")
        for value in ("A" * 22, made.json()["id"], real[:22], edited):
            r = self.stack.client().get("/api/exports", headers={"Cookie": "exportd_session=" + value})
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json()["exports"], [], "%r reads someone's list" % value)
            self.assertRegex(r.header("Set-Cookie") or "", COOKIE_RE, "%r is answered with a new session" % value)
        # An export made with an invented cookie joins the new session, not the invented one.
        r = self.stack.client().post("/api/exports", dict(dataset="orders", filters=QUICK),
                                     headers={"Cookie": "exportd_session=" + "A" * 22})
        self.assertEqual(r.status, 202, r)
        fresh = {"Cookie": r.header("Set-Cookie").split(";")[0]}
        self.assertEqual([e["id"] for e in self.stack.client().get("/api/exports", headers=fresh).json()["exports"]],
                         [r.json()["id"]])

    def test_a_planted_second_session_is_not_followed(self):
        victim, attacker = self.stack.client(), self.stack.client()
        victim.get("/api/datasets")
        attacker.get("/api/datasets")
        planted = attacker.cookies["exportd_session"]
        own = victim.cookies["exportd_session"]
        # The browser sends the planted cookie (sibling domain, longer path) first.
        both = {"Cookie": "exportd_session=%s; exportd_session=%s" % (planted, own)}
        r = self.stack.client().post("/api/exports", dict(dataset="orders", filters=QUICK), headers=both)
        self.assertEqual(r.status, 202, r)
        self.assertIsNotNone(r.header("Set-Cookie"), "two sessions count as none")
        self.assertNotIn(r.json()["id"], [e["id"] for e in attacker.get("/api/exports").json()["exports"]],
                         "the victim's export landed in the attacker's list")

    def test_over_https_the_cookie_is_host_prefixed_and_secure(self):
        params = {"HTTPS": "on", "REMOTE_ADDR": "127.0.0.1"}
        r = fcgi_client.request(self.stack.socket(), "GET", "/api/datasets", params=params)
        self.assertEqual(r.status, 200)
        cookie = r.header("Set-Cookie") or ""
        self.assertRegex(cookie, r"^__Host-exportd_session=[A-Za-z0-9_.-]{66}; Path=/; Secure; HttpOnly; SameSite=Strict$")
        value = cookie.split(";")[0].split("=", 1)[1]
        # Over HTTPS only the prefixed name is read; over HTTP only the plain one.
        again = fcgi_client.request(self.stack.socket(), "GET", "/api/exports", params=params,
                                    headers={"Cookie": "__Host-exportd_session=" + value})
        self.assertIsNone(again.header("Set-Cookie"))
        plain = fcgi_client.request(self.stack.socket(), "GET", "/api/exports", params=params,
                                    headers={"Cookie": "exportd_session=" + value})
        self.assertIsNotNone(plain.header("Set-Cookie"))

    def test_health_and_metrics_hand_out_no_cookie(self):
        for path in ("/api/health", "/api/metrics"):
            r = Client(self.stack.port).get(path)
            self.assertEqual(r.status, 200, (path, r))
            self.assertIsNone(r.header("Set-Cookie"), path)
        self.assertIsNotNone(Client(self.stack.port).get("/api/datasets").header("Set-Cookie"))

    def test_json_that_is_not_an_object_is_invalid_request(self):
        c = cookieless(self.stack)
        before = registry_rows(self.stack)
        for body in ('[{"dataset": "orders"}]', '"x"', "3", "null", "[]"):
            r = c.post("/api/exports", body)
            self.assertEqual(r.status, 400, (body, r))
            self.assertEqual(r.json()["error"], "invalid_request", body)
        self.assertEqual(c.post("/api/exports", "[1,").json()["error"], "invalid_json")
        self.assertEqual(registry_rows(self.stack), before)

    def test_deeply_nested_bodies_on_delete_and_regenerate_are_invalid_json(self):
        c = self.stack.client()
        made = c.create(dict(dataset="orders", filters=QUICK))
        eid = made.json()["id"]
        c.wait_status(eid, {"ready"})
        deep = "[" * 20000 + "]" * 20000
        for method, path in (("DELETE", "/api/exports/" + eid), ("POST", "/api/exports/%s/regenerate" % eid)):
            r = c.request(method, path, body=deep)
            self.assertEqual(r.status, 400, (method, r))
            self.assertEqual(r.json()["error"], "invalid_json")
        self.assertEqual(c.get("/api/exports/" + eid).json()["status"], "ready", "nothing happened")
        self.assertIsNone(self.stack.procs[0].poll())

    def test_the_parts_of_one_download_count_once(self):
        c = self.stack.client()
        eid = c.create(dict(dataset="orders", filters=QUICK)).json()["id"]
        ready = c.wait_status(eid, {"ready"})
        size = ready["file"]["size_bytes"]
        before = self.stack.metrics()
        path = "/api/exports/%s/download" % eid
        self.assertEqual(c.get(path).status, 200)                                    # a download
        self.assertEqual(c.get(path, headers={"Range": "bytes=0-99"}).status, 206)   # a second one
        half = size // 2
        for rng in ("bytes=%d-" % half, "bytes=100-%d" % (half - 1), "bytes=-100"):   # continuations
            self.assertEqual(c.get(path, headers={"Range": rng}).status, 206, rng)
        self.assertEqual(c.request("HEAD", path).status, 200)
        self.assertEqual(c.get("/api/exports/" + eid).json()["download_count"], 2)
        after = self.stack.metrics()
        self.assertEqual(metric_value(after, "exportd_downloads_total") - metric_value(before, "exportd_downloads_total"), 2)
        self.assertEqual(metric_value(after, "exportd_download_authorizations_total")
                         - metric_value(before, "exportd_download_authorizations_total"), 5)

    def test_labelled_metric_families_show_their_series_from_the_start(self):
        text = self.stack.metrics()
        for family, label, values in (
                ("exportd_exports_completed_total", "format", ("csv", "ndjson", "xlsx")),
                ("exportd_exports_failed_total", "code", ("interrupted", "disk_full", "too_many_rows",
                                                          "source_error", "quota_exceeded")),
                ("exportd_files_deleted_total", "reason", ("expired", "deleted", "sweep", "orphan"))):
            for v in values:
                self.assertRegex(text, r'(?m)^%s\{%s="%s"\} [0-9.e+]+$' % (family, label, v))
            self.assertNotRegex(text, r"(?m)^%s [0-9]" % family, "no unlabelled sample of " + family)


class LimitsTest(unittest.TestCase):
    def test_creations_beyond_the_rate_get_429_with_retry_after(self):
        stack = Stack(name="rate", config={"max_exports_per_owner_per_minute": 3}).start()
        try:
            alice = stack.client()
            alice.get("/api/datasets")
            for i in range(3):
                r = alice.create(dict(dataset="orders", filters={"total_cents": i}))  # no rows: done at once
                self.assertEqual(r.status, 202, r)
                alice.wait_status(r.json()["id"], {"ready", "failed"})
            before = registry_rows(stack)
            refused = alice.create(dict(dataset="orders", filters={"total_cents": 99}))
            self.assertEqual(refused.status, 429, refused)
            self.assertEqual(refused.json()["error"], "too_many_requests")
            retry = int(refused.header("Retry-After"))
            self.assertTrue(1 <= retry <= 60, retry)
            self.assertEqual(registry_rows(stack), before, "a refused request creates nothing")
            other = stack.client()
            other.get("/api/datasets")
            self.assertEqual(other.create(dict(dataset="orders", filters={"total_cents": 99})).status, 202)
        finally:
            stack.stop()

    def test_filters_too_large_to_keep_are_invalid_request(self):
        stack = Stack(name="filters", config={"max_filters_bytes": 8192}).start()
        try:
            c = stack.client()
            values = ["country-%05d" % i for i in range(900)]   # ~13 KB stored, under the 1,000-value cap
            r = c.create(dict(dataset="orders", filters={"country": values}))
            self.assertEqual(r.status, 400, r)
            self.assertEqual((r.json()["error"], r.json()["field"]), ("invalid_request", "filters"))
            self.assertEqual(registry_rows(stack), 0)
            self.assertEqual(c.create(dict(dataset="orders", filters={"country": values[:100]})).status, 202)
        finally:
            stack.stop()

    def test_a_full_job_queue_answers_503_with_retry_after(self):
        stack = Stack(name="queue", rows=20000,
                      config={"max_queued_exports": 2, "export_threads": 1, "export_rows_per_second": 500}).start()
        try:
            made = []
            for i in range(2):
                c = stack.client()
                c.get("/api/datasets")
                r = c.create(XLSX_SLOW)
                self.assertEqual(r.status, 202, r)
                made.append((c, r.json()["id"]))
            before = registry_rows(stack)
            late = stack.client()
            late.get("/api/datasets")
            r = late.create(XLSX_SLOW)
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.json()["error"], "server_busy")
            self.assertRegex(r.header("Retry-After") or "", r"^[1-9][0-9]*$")
            self.assertEqual(registry_rows(stack), before)
            # A place frees when a job ends.
            made[0][0].request("DELETE", "/api/exports/" + made[0][1])
            wait_until(lambda: late.create(XLSX_SLOW).status == 202, 15, what="a freed place in the queue")
        finally:
            stack.stop()

    def test_an_owner_quota_caps_files_while_writing_and_refuses_when_held(self):
        stack = Stack(name="quota", retention=600, rows=20000).start()
        try:
            c = stack.client()
            c.get("/api/datasets")
            first = c.wait_status(c.create(dict(dataset="orders", filters=QUICK)).json()["id"], {"ready"})
            size = first["file"]["size_bytes"]
            # Restarted with a quota that leaves less than another such file.
            with open(stack.config_path(), "a") as f:
                f.write("owner_quota_bytes = %d\n" % (size + size // 2))
            stack.kill_exportd(sig=signal.SIGTERM)
            stack.start_exportd()
            wait_until(stack._health_ok, 15, what="exportd back")
            second = c.create(dict(dataset="orders", format="ndjson", filters=QUICK))
            self.assertEqual(second.status, 202, second)
            failed = c.wait_status(second.json()["id"], {"failed", "ready"})
            self.assertEqual(failed["status"], "failed", failed)
            self.assertEqual(failed["error"]["code"], "quota_exceeded")
            wait_until(lambda: stack.export_files() == [first["id"]], 10, what="the partial file to go")
            # Another owner is not affected.
            other = stack.client()
            other.get("/api/datasets")
            self.assertEqual(other.wait_status(other.create(dict(dataset="orders", filters=QUICK)).json()["id"],
                                               {"ready", "failed"})["status"], "ready")
            # A quota the owner's files already fill: 507 before anything is created.
            with open(stack.config_path(), "a") as f:
                f.write("owner_quota_bytes = %d\n" % size)
            stack.kill_exportd(sig=signal.SIGTERM)
            stack.start_exportd()
            wait_until(stack._health_ok, 15, what="exportd back")
            before = registry_rows(stack)
            r = c.create(dict(dataset="orders", filters={"country": "FR"}))
            self.assertEqual(r.status, 507, r)
            self.assertEqual(r.json()["error"], "insufficient_storage")
            self.assertEqual(registry_rows(stack), before)
        finally:
            stack.stop()


class IdentityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import test_owners
        cls.stack = Stack(htpasswd_users={"alice": "pw", "bob": "pw2"}, name="identity",
                          datasets=test_owners.datasets_with_restricted("bob")).start()
        cls.alice = cls.stack.client(auth=("alice", "pw"))

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_a_restricted_dataset_answers_exactly_as_an_unknown_one(self):
        for extra in ({}, {"format": "pdf"}, {"filters": {"status": "nope"}}, {"filters": {"salary": 1}}):
            hidden = self.alice.create(dict(dataset="restricted", **extra))
            missing = self.alice.create(dict(dataset="restricte_", **extra))
            self.assertEqual(hidden.status, 400, hidden)
            self.assertEqual(hidden.json(), {k: v.replace("restricte_", "restricted") if isinstance(v, str) else v
                                             for k, v in missing.json().items()}, extra)
            self.assertEqual(hidden.json()["error"], "unknown_dataset")
        names = [d["name"] for d in self.alice.get("/api/datasets").json()["datasets"]]
        self.assertNotIn("restricted", names)

    def test_metrics_need_no_credentials_from_loopback(self):
        r = Client(self.stack.port).get("/api/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertIn("exportd_exports_created_total", r.body.decode())
        self.assertEqual(Client(self.stack.port).get("/api/exports").status, 401)


if __name__ == "__main__":
    unittest.main()
