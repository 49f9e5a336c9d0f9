"""End to end on the PostgreSQL registry (README "Configuration", docs/operations.md
"PostgreSQL registry"): the core scenario through nginx, and the registry's outage:
503 registry_unavailable with Retry-After, no download authorised, the file still
deleted on time and its deletion recorded once the database is back."""
import calendar
import os
import subprocess
import tempfile
import time
import unittest

from harness import EXPORTD, EXPIRED_SENTENCE, ROOT, Stack, sha256, wait_until

SERVER = os.path.join(ROOT, "tests", "pg", "server.sh")


def epoch(rfc3339):
    """Seconds since the epoch of an RFC 3339 UTC time with optional milliseconds."""
    whole, _, frac = rfc3339.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + (float("0." + frac) if frac else 0.0)


class PostgresqlRegistryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg_dir = tempfile.mkdtemp(prefix="exportd-e2e-pg-")
        os.chmod(cls.pg_dir, 0o755)  # the server runs as postgres when the tests run as root
        cls.uri = cls.server("start")
        try:
            # A longer connect timeout than exportd's own 3 s: a loaded test
            # machine took longer than that to start a backend.
            cls.stack = Stack(retention=3, sweep=1, rows=20000, name="pg",
                              config={"registry": cls.uri + "&connect_timeout=10",
                                      "export_rows_per_second": 20000}).start()
        except BaseException:
            cls.server("stop")
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.stack.stop()
        finally:
            cls.server("stop")
            subprocess.run(["rm", "-rf", cls.pg_dir], check=False)

    @classmethod
    def server(cls, action):
        return subprocess.run([SERVER, action, os.path.join(cls.pg_dir, "pg")], check=True,
                              capture_output=True, text=True).stdout.strip()

    def psql(self, sql):
        return subprocess.run(["psql", self.uri, "-tAc", sql], check=True, capture_output=True,
                              text=True).stdout.strip()

    def setUp(self):
        self.c = self.stack.client()
        self.server("start")  # back up, whatever a failed test left

    def ready_export(self):
        r = self.c.create(dict(dataset="orders", format="csv", filters={"country": "DE"}))
        self.assertEqual(r.status, 202, r)
        return self.c.wait_status(r.json()["id"], {"ready"}, timeout=30)

    def test_core_scenario_on_postgresql(self):
        ready = self.ready_export()
        self.assertEqual(self.psql("SELECT status FROM exports WHERE id = '%s'" % ready["id"]), "ready",
                         "the export is in PostgreSQL")
        d = self.c.get(ready["links"]["download"])
        self.assertEqual(d.status, 200, d)
        self.assertEqual(sha256(d.body), ready["file"]["sha256"])
        self.assertEqual(self.c.get("/api/exports/" + ready["id"]).json()["download_count"], 1)
        self.assertIn(ready["id"], self.stack.export_files())

        gone = wait_until(lambda: (lambda x: x if x.status == 410 else None)(self.c.get(ready["links"]["download"])),
                          15, what="download to answer 410")
        self.assertGreaterEqual(time.time(), epoch(ready["expires_at"]), "not refused before expires_at")
        body = gone.json()
        self.assertEqual(body["error"], "export_expired")
        self.assertEqual(body["message"], EXPIRED_SENTENCE)
        self.assertEqual(body["expired_at"], ready["expires_at"])
        status = wait_until(lambda: (lambda s: s if s.get("file_deleted_at") else None)(
            self.c.get("/api/exports/" + ready["id"]).json()), 10, what="file_deleted_at")
        self.assertEqual(status["status"], "expired")
        self.assertNotIn(ready["id"], self.stack.export_files(), "file removed from the export directory")
        self.assertEqual(self.psql("SELECT status FROM exports WHERE id = '%s'" % ready["id"]), "expired")

    def test_outage_answers_503_and_timers_still_delete_on_time(self):
        ready = self.ready_export()
        expires = epoch(ready["expires_at"])
        self.server("stop")
        started = time.monotonic()
        for path in ("/api/exports/" + ready["id"], ready["links"]["download"]):
            r = self.c.get(path)
            self.assertEqual(r.status, 503, "%s: %r" % (path, r))
            self.assertEqual(r.json()["error"], "registry_unavailable")
            self.assertIsNotNone(r.header("Retry-After"))
        self.assertLess(time.monotonic() - started, 6, "two requests answered within a bound, not hung")
        r = self.c.create(dict(dataset="orders", format="csv"))
        self.assertEqual(r.status, 503, r)

        # The timer deletes the file at expires_at though the registry is down.
        wait_until(lambda: ready["id"] not in self.stack.export_files(), expires - time.time() + 5,
                   what="the file to be deleted during the outage")
        self.assertLess(time.time() - expires, 1.5, "deleted within about a second of expires_at")
        self.assertGreaterEqual(time.time(), expires - 0.05, "not deleted before expires_at")

        # Once the database is back, the deletion is recorded.
        self.server("start")
        status = wait_until(lambda: (lambda r: r.json() if r.status == 200 and r.json().get("file_deleted_at")
                                     else None)(self.c.get("/api/exports/" + ready["id"])),
                            20, what="the deletion to be recorded after the outage")
        self.assertEqual(status["status"], "expired")
        self.assertGreaterEqual(epoch(status["file_deleted_at"]), expires)
        self.assertEqual(self.c.get(ready["links"]["download"]).status, 410)
        # And the registry serves new exports again.
        self.ready_export()

    def check_config(self, registry):
        path = self.stack.config_path(0) + ".check"
        with open(self.stack.config_path(0)) as f, open(path, "w") as out:
            for line in f:
                out.write("registry = %s\n" % registry if line.startswith("registry ") else line)
        env = {k: v for k, v in os.environ.items() if not k.startswith("EXPORTD_")}
        return subprocess.run([EXPORTD, "--check-config", "--config", path], env=env, capture_output=True,
                              text=True, timeout=30)

    def test_check_config_reports_an_unreachable_registry_without_its_password(self):
        ok = self.check_config(self.uri + "&connect_timeout=10")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        started = time.monotonic()
        bad = self.check_config("postgresql://exportd:pw-in-uri@127.0.0.1:1/exportd")
        self.assertLess(time.monotonic() - started, 10)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("registry: ", bad.stderr)
        self.assertIn("cannot connect to PostgreSQL (host=127.0.0.1 port=1 dbname=exportd", bad.stderr)
        self.assertNotIn("pw-in-uri", bad.stderr + bad.stdout)
        unknown = self.check_config("mysql://root:pw-in-uri@db/x")
        self.assertNotEqual(unknown.returncode, 0)
        self.assertIn("registry: scheme 'mysql' is not supported", unknown.stderr)
        self.assertNotIn("pw-in-uri", unknown.stderr + unknown.stdout)


if __name__ == "__main__":
    unittest.main()
