# One e2e file for the fault tests (over 400 lines): one class per fault.
"""Faults (issue 4): kill -9 while writing, kill -9 with deletions pending, SIGTERM,
a full disk, a file that cannot be deleted; plus registry retention and the
structured log lines. Each test starts real nginx + exportd on 127.0.0.1, injects
the fault and checks the outcome from outside: HTTP answers, the export
directory, the registry (audit triggers: tests/e2e/registry_audit.py), metrics,
logs.

Timing: exportd's lease is 10 s (a process silent that long is gone) and the
tests sweep every 1-2 s; deadlines add a few seconds for a loaded machine, and
every wait polls.
"""
import datetime
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest

import nginx_log
import registry_audit
from harness import EXPIRED_SENTENCE, Client, Stack, metric_value, sha256, wait_until

LEASE_S = 10          # SweeperOptions.leaseMs in ExportdApp.cpp
SLACK_S = 3.0         # what a loaded 2-core machine may add to a deadline
PROMISE_S = 1.0       # docs/operations.md, Cleanup: deleted within a second of expires_at while running
FULL_EXPORT = {"dataset": "orders", "format": "csv"}   # 20,000 rows, ~1.7 MB


def small_export(n, retention=None, country="DE"):
    body = {"dataset": "orders", "format": "csv",
            "filters": {"country": country, "status": "paid", "total_cents": {"min": n}}}
    if retention is not None:
        body["retention_seconds"] = retention
    return body


def epoch(rfc3339):
    return datetime.datetime.strptime(rfc3339.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def instance_id(stack, i=0):
    ids = re.findall(r"event=started instance=(\S+)", stack.log(i))
    return ids[-1] if ids else None


def note(text):
    print("  [faults] " + text, file=sys.stderr)


def thread_dump(pid):
    """Every thread's stack of a hung process (gdb), for the failure message."""
    if shutil.which("gdb") is None:
        return "(gdb not installed)"
    return subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt 12"],
                          capture_output=True, text=True, timeout=60).stdout[-12000:]


def recorded_lateness(stack, ids):
    """{id: file_deleted_at - expires_at} once every one of `ids` is recorded deleted
    (a deletion unlinks first, then records: the directory can be ahead)."""
    return wait_until(lambda: (lambda l: l if len(l) == len(ids) else None)(
        registry_audit.deletion_lateness_ms(stack, set(ids))), 15, what="the deletions to be recorded")


class FaultCase(unittest.TestCase):
    stack = None

    def tearDown(self):
        if self.stack is not None:
            self.stack.stop()

    def start(self, **kw):
        self.stack = Stack(**kw).start()
        registry_audit.install(self.stack)
        return self.stack

    def assertNoDoubleTransitions(self):
        self.assertEqual(registry_audit.double_transitions(self.stack), [], "a transition applied twice")

    def ready(self, c, body, timeout=30):
        r = c.create(body)
        self.assertEqual(r.status, 202, r)
        return c.wait_status(r.json()["id"], {"ready"}, timeout=timeout)

    def assertDownloads(self, c, export):
        d = c.get(export["links"]["download"])
        self.assertEqual(d.status, 200, d)
        self.assertEqual(sha256(d.body), export["file"]["sha256"], "the downloaded bytes are the file")


class KillNineWhileWritingTest(FaultCase):
    def test_kill9_during_export_leaves_it_interrupted_and_no_part_file(self):
        s = self.start(retention=10, sweep=1, rows=20000, name="kill-writing",
                       config={"export_rows_per_second": 2000,    # 20,000 rows: ~10 s
                               "max_active_exports_per_owner": 1})
        c = s.client()
        r = c.create(FULL_EXPORT)
        self.assertEqual(r.status, 202, r)
        eid = r.json()["id"]
        wait_until(lambda: (lambda b: b["status"] == "running" and b["progress"]["rows_written"] >= 1000)(
            c.get("/api/exports/" + eid).json()), 15, what="the export to be running")
        wait_until(lambda: eid + ".part" in s.export_files(), 15, what="the .part file")

        s.kill_exportd(0, signal.SIGKILL)
        self.assertIn(eid + ".part", s.export_files(), "the crash left its partial file")
        self.assertEqual(s.registry_query("SELECT status FROM exports WHERE id='%s'" % eid), "running")

        restarted = time.monotonic()
        s.start_exportd(0)
        wait_until(s._health_ok, 30, what="exportd to answer")   # the killed one's socket file remains
        body = c.wait_status(eid, {"failed", "ready"}, timeout=LEASE_S + s.sweep + SLACK_S + 2)
        took = time.monotonic() - restarted
        note("kill -9 while writing: failed/%s %.1fs after the restart (lease %ds)"
             % (body.get("error", {}).get("code"), took, LEASE_S))
        self.assertEqual(body["status"], "failed")
        self.assertEqual(body["error"]["code"], "interrupted")
        self.assertTrue(body["error"]["message"])
        wait_until(lambda: not any(f.endswith(".part") for f in s.export_files()), s.sweep + SLACK_S,
                   what="the .part file to be removed")
        self.assertEqual(s.export_files(), [], "nothing left behind")
        d = c.get("/api/exports/%s/download" % eid)
        self.assertEqual((d.status, d.json()["error"]), (409, "export_failed"))
        self.assertEqual(d.json()["export_error"]["code"], "interrupted")

        # A new export works: the interrupted one no longer counts against the owner's
        # limit (1 here; it would be a 429 otherwise).
        again = self.ready(c, small_export(1))
        self.assertDownloads(c, again)
        m = s.metrics()
        self.assertEqual(metric_value(m, "exportd_exports_failed_total", 'code="interrupted"'), 1)
        self.assertIn("interrupted=1", s.log(0), "the sweep that found it says so")
        self.assertNoDoubleTransitions()


class KillNineWithPendingDeletionsTest(FaultCase):
    DUE = 200          # ready exports that expire while exportd is down
    LATER = 10         # ready exports still due after the restart

    def test_kill9_then_restart_after_expiry_deletes_within_one_sweep(self):
        sweep = 2
        s = self.start(retention=30, sweep=sweep, rows=20000, name="kill-pending",
                       config={"max_active_exports_per_owner": 1000, "max_queued_exports": 1000,
                               "max_exports_per_owner_per_minute": 0})
        c = s.client()
        due_ids, later_ids = [], []
        for n in range(self.DUE):
            r = c.create(small_export(n, retention=8, country=["DE", "FR", "NL", "IT"][n % 4]))
            self.assertEqual(r.status, 202, r)
            due_ids.append(r.json()["id"])
        for n in range(self.LATER):
            r = c.create(small_export(n, retention=22, country="SE"))
            self.assertEqual(r.status, 202, r)
            later_ids.append(r.json()["id"])
        all_ids = due_ids + later_ids
        quoted = ",".join("'%s'" % i for i in all_ids)
        wait_until(lambda: s.registry_query("SELECT COUNT(*) FROM exports WHERE status='ready' AND id IN (%s)"
                                            % quoted) == str(len(all_ids)), 60, interval=0.2,
                   what="%d exports to be ready" % len(all_ids))
        later = {i: c.get("/api/exports/" + i).json() for i in later_ids}

        s.kill_exportd(0, signal.SIGKILL)
        pending = int(s.registry_query("SELECT COUNT(*) FROM exports WHERE status='ready'"
                                       " AND file_deleted_at IS NULL AND id IN (%s)" % quoted))
        note("kill -9 with %d ready exports pending expiry" % pending)
        self.assertGreaterEqual(pending, self.DUE * 3 // 4 + self.LATER, "most deletions were pending at the kill")

        # Restart once every `due` export has expired (exportd is down: nothing deletes them).
        last_due = max(float(x) for x in s.registry_query(
            "SELECT expires_at FROM exports WHERE id IN (%s)" % ",".join("'%s'" % i for i in due_ids)).split())
        wait_until(lambda: time.time() * 1000 > last_due + 300, 30, interval=0.1, what="the due exports' expiry")
        left_before = len([f for f in s.export_files() if f in due_ids])
        self.assertGreater(left_before, 0, "files outlived their expiry while exportd was down")
        restarted = time.time()
        s.start_exportd(0)
        wait_until(s._health_ok, 30, what="exportd to answer")   # the killed one's socket file remains
        wait_until(lambda: not set(due_ids) & set(s.export_files()), sweep + SLACK_S, interval=0.05,
                   what="every overdue file to be deleted after the restart")
        took = time.time() - restarted
        recorded_lateness(s, [i for i in due_ids])
        note("restart: %d overdue files gone %.2fs after the restart (sweep_interval %ds)"
             % (left_before, took, sweep))
        self.assertLessEqual(took, sweep + SLACK_S)
        for i in due_ids:
            body = c.get("/api/exports/" + i).json()
            self.assertEqual(body["status"], "expired", i)
            self.assertEqual(body["message"], EXPIRED_SENTENCE)
            self.assertIsNotNone(body["file_deleted_at"], i)
            self.assertLessEqual(epoch(body["file_deleted_at"]), restarted + sweep + SLACK_S, i)

        # Exports not yet due: still downloadable, then deleted on time.
        for i in later_ids:
            self.assertDownloads(c, later[i])
        last_later = max(epoch(b["expires_at"]) for b in later.values())
        wait_until(lambda: not set(later_ids) & set(s.export_files()),
                   max(0.0, last_later - time.time()) + PROMISE_S + SLACK_S, interval=0.05,
                   what="the later exports to be deleted")
        lateness = recorded_lateness(s, later_ids)
        self.assertEqual(len(lateness), self.LATER)
        note("not yet due at the restart: deleted %d..%d ms after expires_at"
             % (min(lateness.values()), max(lateness.values())))
        self.assertLessEqual(max(lateness.values()), (PROMISE_S + 0.5) * 1000, "deleted on time")
        for i in later_ids:
            g = c.get(later[i]["links"]["download"])
            self.assertEqual((g.status, g.json()["error"]), (410, "export_expired"))

        # The overdue files go at the restart by the start-up sweep or by the
        # timers of the expiry watcher's first read of the registry, whichever
        # comes first (docs/operations.md, Several hosts: failover); each once.
        m = s.metrics()
        self.assertEqual(metric_value(m, "exportd_files_deleted_total", 'reason="sweep"')
                         + metric_value(m, "exportd_files_deleted_total", 'reason="expired"'),
                         left_before + self.LATER, "each deletion counted once")
        self.assertEqual(s.registry_query("SELECT COUNT(*) FROM exports WHERE scheduled_by='%s' AND id IN (%s)"
                                          % (instance_id(s), ",".join("'%s'" % i for i in later_ids))),
                         str(self.LATER), "the new process claimed the later ones' timers")
        self.assertEqual(s.export_files(), [])
        self.assertNoDoubleTransitions()


class SigtermTest(FaultCase):
    def test_sigterm_answers_in_flight_marks_jobs_and_restart_resumes_schedule(self):
        s = self.start(retention=30, sweep=1, rows=20000, name="sigterm",
                       config={"export_rows_per_second": 2000, "max_active_exports_per_owner": 50})
        c = s.client()
        ready = [self.ready(c, small_export(n, retention=9)) for n in range(5)]
        running = []
        for n in range(3):   # 2 export threads: two run, one waits in the queue
            r = c.create(dict(FULL_EXPORT, filters={"total_cents": {"min": n}}))
            self.assertEqual(r.status, 202, r)
            running.append(r.json()["id"])
        wait_until(lambda: s.registry_query("SELECT COUNT(*) FROM exports WHERE status='running'") == "2", 20,
                   what="two running exports")
        old_instance = instance_id(s)

        # Clients keep asking while the signal lands.
        answers, stop = [], threading.Event()

        def hammer(k):
            cl = Client(s.port)
            cl.cookies = dict(c.cookies)
            paths = ["/api/exports/" + running[0], "/api/exports?limit=5", "/api/datasets",
                     ready[k % len(ready)]["links"]["download"], "/api/health"]
            n = 0
            while not stop.is_set():
                try:
                    r = cl.get(paths[n % len(paths)])
                    answers.append((time.time(), r.status, len(r.body)))
                except OSError as e:
                    answers.append((time.time(), "error", repr(e)))
                n += 1

        threads = [threading.Thread(target=hammer, args=(k,), daemon=True) for k in range(4)]
        for t in threads:
            t.start()
        try:
            # Answers before the signal, however slow the machine (polled, not slept for).
            wait_until(lambda: len(answers) >= 8, 15, what="answers before the signal")
            signalled = time.time()
            try:
                rc = s.kill_exportd(0, signal.SIGTERM, timeout=15)
            except subprocess.TimeoutExpired:
                self.fail("exportd did not stop within 15 s of SIGTERM; its threads:\n%s\nlog tail:\n%s"
                          % (thread_dump(s.procs[0].pid), s.log(0)[-3000:]))
            stopped = time.time()
            time.sleep(0.2)
        finally:
            stop.set()
            for t in threads:
                t.join()
        note("SIGTERM: exit code %s after %.2fs; %d requests during the run"
             % (rc, stopped - signalled, len(answers)))
        self.assertEqual(rc, 0, "clean exit")
        self.assertLess(stopped - signalled, 10)
        before = [a for a in answers if a[0] < signalled]
        self.assertTrue(before and all(a[1] in (200, 206) for a in before), "answers before the signal")
        # A request exportd had accepted is answered: nginx never saw a connection
        # closed or reset under a request. After the stop nginx has no upstream (502).
        dropped = [ln for ln in nginx_log.error_log(s).splitlines()
                   if re.search(r"prematurely closed|reset by peer|upstream timed out", ln)]
        refused = [ln for ln in nginx_log.error_log(s).splitlines() if "connect() to unix:" in ln]
        note("SIGTERM: nginx saw %d requests dropped by exportd, %d refused after the stop"
             % (len(dropped), len(refused)))
        self.assertEqual(dropped[:3], [], "requests in flight were dropped (%d)" % len(dropped))
        self.assertEqual([a for a in answers if a[1] not in (200, 206, 502)], [], "only answers or 502 when down")

        # Registry after the clean stop, before anything else runs.
        rows = dict(tuple(r.split("|", 1)) for r in s.registry_query(
            "SELECT id, status || '/' || error_code FROM exports WHERE id IN (%s)"
            % ",".join("'%s'" % i for i in running)).splitlines())
        self.assertEqual(sorted(rows.values()), ["failed/interrupted"] * 3, rows)
        self.assertEqual([f for f in s.export_files() if f.endswith(".part")], [], "no partial file")
        self.assertEqual(s.registry_query("SELECT COUNT(*) FROM instances WHERE instance_id='%s'" % old_instance),
                         "0", "the lease was released")
        for e in ready:
            self.assertIn(e["id"], s.export_files(), "ready files are kept for their retention")
        log = s.log(0)
        self.assertIn("event=stopping", log)
        self.assertIn("event=stopped", log)
        self.assertIn("interrupted by shutdown", log)

        # Restart: the pending deletions resume on time (claimed at once: no lease to wait for).
        s.start_exportd(0)
        for e in ready:
            if time.time() < epoch(e["expires_at"]) - 0.5:   # a slow machine may have taken their time
                self.assertDownloads(c, e)
        last = max(epoch(e["expires_at"]) for e in ready)
        ids = {e["id"] for e in ready}
        wait_until(lambda: not ids & set(s.export_files()), max(0.0, last - time.time()) + PROMISE_S + SLACK_S,
                   interval=0.05, what="the pending deletions after the restart")
        lateness = recorded_lateness(s, ids)
        note("after the restart: pending deletions %d..%d ms after expires_at"
             % (min(lateness.values()), max(lateness.values())))
        self.assertEqual(len(lateness), len(ready))
        self.assertLessEqual(max(lateness.values()), (PROMISE_S + 0.5) * 1000)
        m = s.metrics()   # the new process's timers (or, racing them, its sweeper) deleted them
        self.assertEqual(metric_value(m, "exportd_files_deleted_total", 'reason="expired"')
                         + metric_value(m, "exportd_files_deleted_total", 'reason="sweep"'), len(ready))
        self.assertDownloads(c, self.ready(c, small_export(99)))
        self.assertNoDoubleTransitions()


class DiskFullTest(FaultCase):
    SIZE = 2 * 1024 * 1024
    MIN_FREE = 256 * 1024

    def setUp(self):
        self.mounted = False

    def tearDown(self):
        if self.stack is not None:
            self.stack.stop()
            if self.mounted:
                subprocess.run(["umount", self.stack.exports_dir], check=False)
                shutil.rmtree(self.stack.dir, ignore_errors=True)

    def fill(self, leave_free):
        st = os.statvfs(self.stack.exports_dir)
        free = st.f_bavail * st.f_frsize
        with open(os.path.join(self.stack.exports_dir, "filler-%d" % len(os.listdir(self.stack.exports_dir))),
                  "wb") as f:
            f.write(b"\0" * max(0, free - leave_free))

    def free(self):
        st = os.statvfs(self.stack.exports_dir)
        return st.f_bavail * st.f_frsize

    def test_full_disk_fails_export_removes_part_and_recovers(self):
        stack = Stack(retention=30, sweep=1, rows=20000, name="disk-full",
                      config={"min_free_bytes": self.MIN_FREE, "max_active_exports_per_owner": 50})
        self.stack = stack
        os.makedirs(stack.exports_dir)
        mode = "tmpfs"
        # EXPORTD_E2E_FULL_DISK=hook runs the fallback even where mounting works.
        if os.environ.get("EXPORTD_E2E_FULL_DISK") != "hook" and os.geteuid() == 0 and subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=%d,mode=0750" % self.SIZE, "tmpfs", stack.exports_dir],
                capture_output=True).returncode == 0:
            self.mounted = True
        else:
            mode = "hook"
        stack.start()
        registry_audit.install(stack)
        c = stack.client()
        if mode == "hook":
            # No mount here: the writer's fault hook fails with ENOSPC after N bytes.
            stack.kill_exportd(0, signal.SIGTERM)
            stack.start_exportd(0, env={"EXPORTD_FAULT_DISK_FULL_AFTER_BYTES": "500000"})
            wait_until(lambda: stack._health_ok(), 30, what="exportd back")
        note("full disk: %s" % ("a %d KiB tmpfs as exports_dir" % (self.SIZE // 1024) if mode == "tmpfs"
                                else "the writer's EXPORTD_FAULT_DISK_FULL_AFTER_BYTES hook (no tmpfs mount)"))

        if mode == "tmpfs":
            self.fill(leave_free=600 * 1024)   # above min_free_bytes, below the export's size
        r = c.create(FULL_EXPORT)
        self.assertEqual(r.status, 202, r)
        eid = r.json()["id"]
        body = c.wait_status(eid, {"failed", "ready"})
        self.assertEqual(body["status"], "failed")
        self.assertEqual(body["error"]["code"], "disk_full")
        self.assertIn("disk is full", body["error"]["message"])
        self.assertEqual([f for f in stack.export_files() if f.startswith(eid)], [], "partial file removed")
        self.assertEqual(c.get("/api/health").status, 200, "the service keeps answering")
        self.assertEqual(metric_value(stack.metrics(), "exportd_exports_failed_total", 'code="disk_full"'), 1)
        self.assertIn("code=disk_full", stack.log(0))
        small = self.ready(c, small_export(1))       # a small one still fits
        self.assertDownloads(c, small)

        if mode == "tmpfs":
            # Nearly full (below min_free_bytes): 507 up front, and nothing is created.
            self.fill(leave_free=self.MIN_FREE // 2)
            count = stack.registry_query("SELECT COUNT(*) FROM exports")
            files = stack.export_files()
            r = c.create(small_export(2))
            self.assertEqual(r.status, 507, r)
            self.assertEqual(r.json()["error"], "insufficient_storage")
            self.assertEqual(stack.registry_query("SELECT COUNT(*) FROM exports"), count, "a 507 creates nothing")
            self.assertEqual(stack.export_files(), files)
            for f in stack.export_files():
                if f.startswith("filler-"):
                    os.unlink(os.path.join(stack.exports_dir, f))
            note("space freed: %d KiB free" % (self.free() // 1024))
        else:
            stack.kill_exportd(0, signal.SIGTERM)
            stack.start_exportd(0)
            wait_until(lambda: stack._health_ok(), 30, what="exportd back")

        full = self.ready(c, FULL_EXPORT)            # exports succeed again once space is freed
        self.assertGreater(full["file"]["size_bytes"], 1000000)
        self.assertDownloads(c, full)
        self.assertNoDoubleTransitions()


class UndeletableFileTest(FaultCase):
    """A file exportd cannot delete: `chattr +i` (root ignores modes), and exportd
    run as an unprivileged user (setpriv) under a directory made read-only."""

    def immutable(self, path, on):
        return subprocess.run(["chattr", "+i" if on else "-i", path], capture_output=True).returncode == 0

    def chattr_works(self, directory):
        probe = os.path.join(directory, "chattr-probe")
        open(probe, "w").close()
        try:
            if not self.immutable(probe, True):
                return False
            try:
                os.unlink(probe)
                return False           # root ignored it
            except PermissionError:
                return True
        finally:
            self.immutable(probe, False)
            if os.path.exists(probe):
                os.unlink(probe)

    def test_immutable_file_is_retried_counted_logged_and_410_from_expiry(self):
        s = self.start(retention=3, sweep=1, rows=20000, name="undeletable")
        if os.geteuid() != 0 or not self.chattr_works(s.dir):
            self.skipTest("chattr +i does not work on %s (needs root and ext2/3/4, xfs, btrfs);"
                          " the setpriv variant below covers this fault" % s.dir)
        c = s.client()
        export = self.ready(c, small_export(1, retention=3))
        path = os.path.join(s.exports_dir, export["id"])
        self.check_undeletable(c, export, lambda: self.assertTrue(self.immutable(path, True)),
                               lambda: self.immutable(path, False), "chattr +i", health=200)

    def test_unprivileged_exportd_under_readonly_directory_retries_until_it_can_delete(self):
        if os.geteuid() != 0 or shutil.which("setpriv") is None:
            self.skipTest("needs root and setpriv to run exportd as nobody")
        s = self.start(retention=3, sweep=1, rows=20000, name="undeletable-user")
        # Restart exportd as nobody:www-data, owning what it writes (root ignores modes).
        s.kill_exportd(0, signal.SIGTERM)
        for p in [s.dir] + [os.path.join(s.dir, f) for f in os.listdir(s.dir)]:   # not recursive
            shutil.chown(p, "nobody", "www-data")
        s.start_exportd(0, wrap=["setpriv", "--reuid=nobody", "--regid=www-data", "--clear-groups"])
        wait_until(s._health_ok, 30, what="exportd as nobody")
        self.assertEqual(subprocess.run(["ps", "-o", "user=", "-p", str(s.procs[0].pid)], capture_output=True,
                                        text=True).stdout.strip(), "nobody")
        c = s.client()
        export = self.ready(c, small_export(1, retention=3))
        self.check_undeletable(c, export, lambda: os.chmod(s.exports_dir, 0o550),
                               lambda: os.chmod(s.exports_dir, 0o750), "exportd as nobody, directory 0550",
                               health=503)

    def check_undeletable(self, c, export, make_undeletable, make_deletable, how, health):
        make_undeletable()
        try:
            self.check_undeletable_inner(c, export, make_deletable, how, health)
        finally:
            make_deletable()   # whatever happened: the stack's directory must be removable

    def check_undeletable_inner(self, c, export, make_deletable, how, health):
        s = self.stack
        self.assertDownloads(c, export)
        expires = epoch(export["expires_at"])
        # Downloads right up to expiry, then 410 from expires_at on although the file stays.
        last_200, first_410 = None, None
        while time.time() < expires + 1.0:
            sent = time.time()
            d = c.get(export["links"]["download"])
            if d.status == 200:
                last_200 = sent
            elif d.status == 410:
                first_410 = first_410 or time.time()
                self.assertEqual(d.json()["error"], "export_expired")
            else:
                self.fail(d)
        self.assertIsNotNone(first_410)
        self.assertTrue(last_200 is None or last_200 < expires, "no 200 for a request sent after expires_at")
        self.assertGreaterEqual(first_410, expires)
        self.assertIn(export["id"], s.export_files(), "the file could not be deleted")

        wait_until(lambda: metric_value(s.metrics(), "exportd_cleanup_failures_total") >= 3, 20,
                   what="retried deletions to be counted")
        body = c.get("/api/exports/" + export["id"]).json()
        self.assertEqual(body["status"], "expired")
        self.assertIsNone(body["file_deleted_at"], "not recorded as deleted while it is there")
        m = s.metrics()
        self.assertGreater(metric_value(m, "exportd_oldest_overdue_file_seconds"), 0)
        h = c.get("/api/health")
        self.assertEqual(h.status, health, h)
        if health == 503:
            self.assertTrue(h.json()["export_dir"].startswith("error"), "the failing part is named")
        log = s.log(0)
        self.assertRegex(log, r"cleanup of %s failed \(attempt [2-9]\).*retrying" % re.escape(export["id"]))
        note("undeletable file (%s): %d failed attempts counted, 410 from %.3fs after expires_at, health %d"
             % (how, metric_value(m, "exportd_cleanup_failures_total"), first_410 - expires, h.status))

        # Once it can be deleted, the retry deletes it (backoff is capped at 5 s).
        make_deletable()
        wait_until(lambda: export["id"] not in s.export_files(), 5 + s.sweep + SLACK_S, what="the retried deletion")
        wait_until(lambda: c.get("/api/exports/" + export["id"]).json()["file_deleted_at"], 10,
                   what="file_deleted_at")
        self.assertEqual(metric_value(s.metrics(), "exportd_oldest_overdue_file_seconds"), 0)
        self.assertEqual(c.get("/api/health").status, 200)
        self.assertTrue(s.procs[0].poll() is None, "never crashed")
        self.assertNoDoubleTransitions()


class RetentionAndLogsTest(FaultCase):
    def test_records_are_purged_after_keep_and_each_event_is_one_log_line(self):
        s = self.start(retention=1, sweep=1, rows=20000, name="keep",
                       config={"registry_keep_seconds": 2, "max_rows": 1000})
        c = s.client()
        expiring = self.ready(c, small_export(1, retention=1))
        self.assertDownloads(c, expiring)
        deleting = self.ready(c, small_export(2, retention=1))
        self.assertEqual(c.request("DELETE", "/api/exports/" + deleting["id"]).status, 200)
        r = c.create(FULL_EXPORT)                   # 20,000 rows > max_rows: fails
        failing = c.wait_status(r.json()["id"], {"failed"})
        self.assertEqual(failing["error"]["code"], "too_many_rows")
        wait_until(lambda: c.get("/api/exports/" + expiring["id"]).json().get("file_deleted_at"), 15,
                   what="the expiry")

        # Purged registry_keep_seconds after their last change: then 404.
        for e in (expiring, deleting, failing):
            wait_until(lambda: c.get("/api/exports/" + e["id"]).status == 404, 2 + s.sweep + 10,
                       what="record %s to be purged" % e["id"])
        self.assertEqual(s.registry_query("SELECT COUNT(*) FROM exports"), "0")

        log = s.log(0)
        lines = log.splitlines()

        def one_line(pattern, what):
            found = [ln for ln in lines if re.search(pattern, ln)]
            self.assertEqual(len(found), 1, "%s: %r" % (what, found))

        for e in (expiring, deleting, failing):
            one_line(r"event=export_created id=%s\b" % re.escape(e["id"]), "created " + e["id"])
        one_line(r"export %s ready:" % re.escape(expiring["id"]), "ready")
        one_line(r"event=file_deleted id=%s reason=expired" % re.escape(expiring["id"]), "expired")
        one_line(r"event=export_deleted id=%s\b" % re.escape(deleting["id"]), "deleted")
        one_line(r"export %s failed: code=too_many_rows" % re.escape(failing["id"]), "failed")
        self.assertRegex(log, r"sweep: interrupted=\d+ overdue_deleted=\d+ .* purged=[1-9]")
        for ln in lines:
            self.assertRegex(ln, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \w+ exportd[.\w]*: ",
                             "every line is timestamp, level, logger, message")
        for value in ("paid",):   # filter values never reach the log
            self.assertNotIn("=" + value, log)

        # Health and metrics complete (docs/api.md, Health and metrics).
        h = c.get("/api/health").json()
        self.assertEqual(set(h), {"status", "registry", "export_dir", "pending_cleanups"})
        m = s.metrics()
        for name in ["exportd_exports_created_total", 'exportd_exports_completed_total{format="csv"}',
                     'exportd_exports_failed_total{code="too_many_rows"}',
                     'exportd_files_deleted_total{reason="expired"}', 'exportd_files_deleted_total{reason="deleted"}',
                     "exportd_cleanup_lag_seconds_bucket", "exportd_cleanup_lag_seconds_sum",
                     "exportd_cleanup_lag_seconds_count", "exportd_export_files", "exportd_export_bytes",
                     "exportd_pending_cleanups", "exportd_export_duration_seconds_bucket",
                     "exportd_oldest_overdue_file_seconds", "exportd_last_sweep_timestamp_seconds",
                     "exportd_cleanup_failures_total"]:
            self.assertIn(name, m, name)
        self.assertIn("# TYPE exportd_cleanup_lag_seconds histogram", m)
        self.assertEqual(metric_value(m, "exportd_cleanup_lag_seconds_count"), 1)
        self.assertGreater(metric_value(m, "exportd_last_sweep_timestamp_seconds"), time.time() - 10)


if __name__ == "__main__":
    unittest.main()
