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
import collections
import concurrent.futures
import os
import signal
import sys
import threading
import time
import unittest

import registry_audit
from harness import Stack, wait_until

EXPORTS = 150
RETENTION_S = 3
POLL_S = 0.003


def note(text):
    print("  [failover] " + text, file=sys.stderr)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100.0))]


class DirectoryWatch:
    """Stamps the first moment each watched file is seen missing from a directory."""

    def __init__(self, directory, names):
        self.directory = directory
        self.names = set(names)
        self.gone = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            present = set(os.listdir(self.directory))
            now = time.time()
            for name in self.names - present:
                self.gone.setdefault(name, now)
            time.sleep(POLL_S)

    def stop(self):
        self._stop.set()
        self._thread.join()


class FailoverTest(unittest.TestCase):
    def setUp(self):
        self.stack = Stack(retention=RETENTION_S, sweep=60, rows=500, instances=2, name="failover",
                           config={"max_active_exports_per_owner": 1000,
                                   "max_exports_per_owner_per_minute": 0,
                                   "max_queued_exports": 1000}).start()
        registry_audit.install(self.stack)

    def tearDown(self):
        self.stack.stop()

    def test_survivor_deletes_a_killed_process_files_within_a_second(self):
        s = self.stack

        def create(n):
            r = s.client().create({"dataset": "orders", "format": "csv",
                                   "filters": {"total_cents": {"min": n}}})
            self.assertEqual(r.status, 202, r)
            return r.json()["id"]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(create, range(EXPORTS)))
        quoted = ",".join("'%s'" % i for i in ids)
        wait_until(lambda: s.registry_query("SELECT COUNT(*) FROM exports WHERE id IN (%s)"
                                            " AND status IN ('ready','expired')" % quoted) == str(EXPORTS),
                   30, interval=0.02, what="every export to be ready")
        watch = DirectoryWatch(s.exports_dir, ids)

        rows = [r.split("|") for r in s.registry_query(
            "SELECT id, scheduled_by, expires_at, status FROM exports WHERE id IN (%s)" % quoted).splitlines()]
        expires = {i: int(at) / 1000.0 for i, _, at, _ in rows}
        pending = {i: by for i, by, _, status in rows if status == "ready"}
        victim = collections.Counter(pending.values()).most_common(1)[0][0]
        victim_idx = next(i for i in (0, 1) if "instance=%s" % victim in s.log(i))
        s.kill_exportd(victim_idx, signal.SIGKILL)
        killed = time.time()
        orphans = {i for i, by in pending.items() if by == victim and expires[i] > killed}
        note("kill -9 of process %d holding %d of %d pending deletions (%d not yet due)"
             % (victim_idx, sum(1 for by in pending.values() if by == victim), len(pending), len(orphans)))
        self.assertGreaterEqual(len(orphans), EXPORTS // 5, "enough of the dead process's files to measure")

        last = max(expires.values())
        wait_until(lambda: len(watch.gone) == len(ids), max(0.0, last - time.time()) + 5, interval=0.05,
                   what="every file to be deleted")
        watch.stop()
        self.assertEqual(sorted(set(ids) & set(s.export_files())), [], "files left")

        late = {i: watch.gone[i] - expires[i] for i in ids}
        orphan_late = [late[i] for i in orphans]
        note("lateness from the directory, %d orphaned files: p50 %.0f ms, p99 %.0f ms, max %.0f ms; "
             "all %d: p99 %.0f ms, max %.0f ms"
             % (len(orphan_late), 1000 * percentile(orphan_late, 50), 1000 * percentile(orphan_late, 99),
                1000 * max(orphan_late), len(late), 1000 * percentile(late.values(), 99),
                1000 * max(late.values())))
        self.assertGreaterEqual(min(late.values()), 0.0, "a file deleted before its expires_at")
        self.assertLess(percentile(orphan_late, 99), 1.0, "p99 lateness of the dead process's files")
        self.assertLess(percentile(late.values(), 99), 1.0, "p99 lateness of every file")

        # Recorded once each, never before expires_at, by the survivor's timers
        # for the orphans (no sweep ran: sweep_interval_seconds is 60).
        recorded = wait_until(lambda: (lambda l: l if len(l) == len(ids) else None)(
            registry_audit.deletion_lateness_ms(s, set(ids))), 15, what="every deletion recorded")
        self.assertGreaterEqual(min(recorded.values()), 0, "file_deleted_at before expires_at")
        self.assertEqual(registry_audit.double_transitions(s), [], "a transition applied twice")
        survivor_log = s.log(1 - victim_idx)
        by_survivor = sum(1 for i in orphans if "event=file_deleted id=%s reason=expired" % i in survivor_log)
        self.assertEqual(by_survivor, len(orphans), "the survivor's timers deleted and recorded the orphans")


if __name__ == "__main__":
    unittest.main()
