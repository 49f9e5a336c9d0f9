"""`exportd --sweep-once`: one sweep against the configured registry and export
directory, then exit (README "How files are kept from outliving their expiry").
With every exportd stopped (killed), it deletes what expired and marks what was
interrupted, and it claims nothing for itself: a live exportd started later
still schedules the exports not yet due.
"""
import os
import signal
import subprocess
import unittest

from harness import EXPORTD, Stack, wait_until

QUICK = {"country": "SE", "status": "refunded"}


class SweepOnceTest(unittest.TestCase):
    def setUp(self):
        self.stack = Stack(retention=60, sweep=3600, rows=20000, name="sweep-once",
                           config={"export_rows_per_second": 2000}).start()

    def tearDown(self):
        self.stack.stop()

    def sweep_once(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("EXPORTD_")}
        return subprocess.run([EXPORTD, "--config", self.stack.config_path(), "--sweep-once"], env=env,
                              capture_output=True, text=True, timeout=60)

    def test_sweep_once_with_the_service_down_deletes_what_expired_and_keeps_what_is_due(self):
        c = self.stack.client()
        c.get("/api/datasets")
        short = c.create(dict(dataset="orders", filters=QUICK, retention_seconds=1)).json()["id"]
        kept = c.create(dict(dataset="orders", format="ndjson", filters=QUICK)).json()["id"]
        running = c.create(dict(dataset="orders", format="xlsx", filters={"country": "DE"})).json()["id"]
        for eid in (short, kept):
            c.wait_status(eid, {"ready"})
        c.wait_status(running, {"running"})
        self.stack.kill_exportd(sig=signal.SIGKILL)       # no timer, no sweeper
        wait_until(lambda: int(self.stack.registry_query(
            "SELECT count(*) FROM exports WHERE id = '%s' AND expires_at <= CAST(strftime('%%s','now') AS INTEGER) * 1000"
            % short)) == 1, 10, what="the short export to expire")
        self.assertIn(short, self.stack.export_files())

        done = self.sweep_once()
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("sweep done", done.stdout)
        files = self.stack.export_files()
        self.assertNotIn(short, files, "the expired file is deleted")
        self.assertIn(kept, files, "a file not yet due is kept")
        self.assertEqual(self.stack.registry_query(
            "SELECT status, file_deleted_at IS NOT NULL FROM exports WHERE id = '%s'" % short), "expired|1")
        # The killed process's lease lapses after 10 s: then its running job is interrupted.
        wait_until(lambda: self.sweep_once().returncode == 0 and self.stack.registry_query(
            "SELECT status || ':' || error_code FROM exports WHERE id = '%s'" % running) == "failed:interrupted",
            30, interval=1, what="the dead process's job to be marked interrupted")
        self.assertFalse([f for f in self.stack.export_files() if f.endswith(".part")], "its partial file is gone")
        self.assertEqual(self.stack.registry_query("SELECT count(*) FROM instances WHERE heartbeat_at > "
                                                   "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - 10000"),
                         "0", "the one-shot sweep holds no lease")
        self.assertEqual(self.stack.registry_query("SELECT scheduled_by FROM exports WHERE id = '%s'" % kept) != "",
                         True)
        # A live exportd started now takes the export not yet due over.
        self.stack.start_exportd()
        wait_until(lambda: self.stack.client().get("/api/health").status == 200, 15, what="exportd back")
        self.assertEqual(c.get("/api/exports/" + kept).json()["status"], "ready")

    def test_sweep_once_with_a_bad_configuration_exits_non_zero_with_a_message(self):
        with open(self.stack.config_path(), "a") as f:
            f.write("retention_seconds = soon\n")
        done = self.sweep_once()
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("retention_seconds", done.stderr)


if __name__ == "__main__":
    unittest.main()
