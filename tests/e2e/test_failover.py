"""The death of a process delays no deletion (docs/operations.md, Several hosts:
failover): two exportd processes on one registry and one export directory;
`kill -9` of the one holding most pending deletions; the survivor's expiry
watcher, which keeps a timer for every ready export of the registry, deletes
each of the dead one's files within a second of its expires_at.

Lateness is measured from the directory (a thread lists it every few ms and
stamps each file's disappearance), not from the registry. The sweepers run
every 60 s and a lease lapses after 10 s, so neither a sweep nor a claim can
be what deletes the files on time: only the watcher can.
"""
import concurrent.futures
import os
import re
import signal
import sys
import threading
import time
import unittest

import registry_audit
from harness import Stack, wait_until

EXPORTS = 150
ORPHANS = 50         # the victim is killed once it holds this many deletions not yet due
RETENTION_S = 3
POLL_S = 0.003


def note(text):
    print("  [failover] " + text, file=sys.stderr)


def instance_id(stack, i):
    return re.findall(r"event=started instance=(\S+)", stack.log(i))[-1]


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100.0))]


class DirectoryWatch:
    """Lists a directory every few ms and stamps, for each file, the first time
    it was seen there and the first time it was seen gone after that."""

    def __init__(self, directory):
        self.directory = directory
        self.seen = {}
        self.gone = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            present = set(os.listdir(self.directory))
            now = time.time()
            for name in present:
                self.seen.setdefault(name, now)
            for name in set(self.seen) - present:
                self.gone.setdefault(name, now)
            time.sleep(POLL_S)

    def stop(self):
        self._stop.set()
        self._thread.join()


class FailoverTest(unittest.TestCase):
    VICTIM = 0

    def setUp(self):
        self.stack = Stack(retention=RETENTION_S, sweep=60, rows=500, instances=2, name="failover",
                           config={"max_active_exports_per_owner": 1000,
                                   "max_exports_per_owner_per_minute": 0,
                                   "max_queued_exports": 1000}).start()
        registry_audit.install(self.stack)
        self.watch = DirectoryWatch(self.stack.exports_dir)

    def tearDown(self):
        self.watch.stop()
        self.stack.stop()

    def test_survivor_deletes_a_killed_process_files_within_a_second(self):
        s = self.stack
        victim = instance_id(s, self.VICTIM)

        def create(n):
            r = s.client().create({"dataset": "orders", "format": "csv",
                                   "filters": {"total_cents": {"min": n}}})
            self.assertEqual(r.status, 202, r)
            return r.json()["id"]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(create, range(EXPORTS)))
        quoted = ",".join("'%s'" % i for i in ids)

        # kill -9 once the victim holds ORPHANS deletions not yet due, or once
        # every export is ready (on a loaded machine the first ones may expire
        # before the last are made; jobs still queued or running on the victim
        # then are the sweeper's, not this test's).
        def victim_pending():
            return int(s.registry_query(
                "SELECT COUNT(*) FROM exports WHERE status = 'ready' AND scheduled_by = '%s'"
                " AND expires_at > CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER) + 500"
                " AND id IN (%s)" % (victim, quoted)))
        wait_until(lambda: victim_pending() >= ORPHANS or s.registry_query(
            "SELECT COUNT(*) FROM exports WHERE id IN (%s) AND status IN ('ready','expired')" % quoted)
            == str(EXPORTS), 30, interval=0.02, what="the victim to hold pending deletions")
        s.kill_exportd(self.VICTIM, signal.SIGKILL)
        killed = time.time()

        rows = [r.split("|") for r in s.registry_query(
            "SELECT id, scheduled_by, expires_at FROM exports WHERE status IN ('ready','expired')"
            " AND id IN (%s)" % quoted).splitlines()]
        expires = {i: int(at) / 1000.0 for i, _, at in rows}
        orphans = {i for i, by, _ in rows if by == victim and expires[i] > killed}
        note("kill -9 of process %d holding %d deletions not yet due (%d of %d exports ready)"
             % (self.VICTIM, len(orphans), len(rows), EXPORTS))
        self.assertGreaterEqual(len(orphans), ORPHANS // 2, "enough of the dead process's files to measure")

        # Every ready export's file goes (the survivor finishes its own jobs too).
        def all_gone():
            ready = {i: int(at) / 1000.0 for i, at in (r.split("|") for r in s.registry_query(
                "SELECT id, expires_at FROM exports WHERE status IN ('ready','expired')"
                " AND id IN (%s)" % quoted).splitlines())}
            expires.update(ready)
            return ready and all(i in self.watch.gone for i in ready)
        wait_until(all_gone, max(expires.values()) - time.time() + RETENTION_S + 10, interval=0.05,
                   what="every ready export's file to be deleted")
        self.watch.stop()
        self.assertEqual(sorted(set(expires) & set(s.export_files())), [], "files left")

        late = {i: self.watch.gone[i] - expires[i] for i in expires if i in self.watch.seen}
        orphan_late = [late[i] for i in orphans]
        note("lateness from the directory, %d orphaned files: p50 %.0f ms, p99 %.0f ms, max %.0f ms; "
             "all %d ready files: p50 %.0f ms, max %.0f ms"
             % (len(orphan_late), 1000 * percentile(orphan_late, 50), 1000 * percentile(orphan_late, 99),
                1000 * max(orphan_late), len(late), 1000 * percentile(late.values(), 50),
                1000 * max(late.values())))
        self.assertGreaterEqual(min(late.values()), 0.0, "a file deleted before its expires_at")
        self.assertLess(percentile(orphan_late, 99), 1.0, "p99 lateness of the dead process's files")

        # Recorded once each, never before expires_at; the orphans by the
        # survivor's timers (no sweep ran: sweep_interval_seconds is 60).
        recorded = wait_until(lambda: (lambda l: l if len(l) == len(expires) else None)(
            registry_audit.deletion_lateness_ms(s, set(expires))), 15, what="every deletion recorded")
        self.assertGreaterEqual(min(recorded.values()), 0, "file_deleted_at before expires_at")
        self.assertEqual(registry_audit.double_transitions(s), [], "a transition applied twice")
        survivor_log = s.log(1 - self.VICTIM)
        by_survivor = sum(1 for i in orphans if "event=file_deleted id=%s reason=expired" % i in survivor_log)
        self.assertEqual(by_survivor, len(orphans), "the survivor's timers deleted and recorded the orphans")


if __name__ == "__main__":
    unittest.main()
