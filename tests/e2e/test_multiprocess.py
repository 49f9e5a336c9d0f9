"""Two exportd processes (issue 4): one registry, one export directory, one nginx
upstream with both sockets.

- Exports made through either process are polled and downloaded through the
  other: nginx's timed access log names the exportd that answered each request,
  the registry names the process that ran each job.
- While both run, each export's owner timer, the other process's timer (its
  expiry watcher times every ready export) and both sweepers race for the same
  deletions; after `kill -9` of one, its pending deletions fall to the other:
  its watcher's timers delete them (tests/e2e/test_failover.py measures how
  late), and its sweeper claims the rest once the lease runs out. Every file
  goes within the promise.
- No transition is applied twice: SQLite triggers record every UPDATE of
  status/file_deleted_at in the registry (tests/e2e/registry_audit.py).
"""
import collections
import re
import signal
import sys
import time
import unittest

import nginx_log
import registry_audit
from harness import Stack, metric_value, sha256, wait_until

LEASE_S = 10
SLACK_S = 3.0


def note(text):
    print("  [multiprocess] " + text, file=sys.stderr)


def instance_id(stack, i):
    ids = re.findall(r"event=started instance=(\S+)", stack.log(i))
    return ids[-1] if ids else None


class TwoProcessesTest(unittest.TestCase):
    EARLY = 8     # expire while both processes run
    LATER = 32    # pending when one is killed

    def setUp(self):
        self.stack = Stack(retention=30, sweep=1, rows=20000, instances=2, name="multi",
                           config={"max_active_exports_per_owner": 200}).start()
        registry_audit.install(self.stack)

    def tearDown(self):
        self.stack.stop()

    def test_two_processes_share_exports_and_take_over_deletions(self):
        s = self.stack
        c = s.client()
        inst = {0: instance_id(s, 0), 1: instance_id(s, 1)}
        sock = {inst[i]: "unix:" + s.socket(i) for i in (0, 1)}
        self.assertNotEqual(inst[0], inst[1])

        ids = []
        for n in range(self.EARLY + self.LATER):
            retention = 4 if n < self.EARLY else 7 + (n % 6) * 2      # 7..17 s
            r = c.create({"dataset": "orders", "format": "csv", "retention_seconds": retention,
                          "filters": {"country": ["DE", "FR", "NL", "IT"][n % 4], "total_cents": {"min": n}}})
            self.assertEqual(r.status, 202, r)
            ids.append(r.json()["id"])
        quoted = ",".join("'%s'" % i for i in ids)
        wait_until(lambda: s.registry_query("SELECT COUNT(*) FROM exports WHERE status IN ('ready','expired')"
                                            " AND id IN (%s)" % quoted) == str(len(ids)), 30, interval=0.1,
                   what="every export to be ready")
        ran = dict(tuple(r.split("|")) for r in s.registry_query(
            "SELECT id, instance_id FROM exports WHERE id IN (%s)" % quoted).splitlines())
        by_runner = collections.Counter(ran.values())
        note("jobs run per process: %s" % dict(by_runner))
        self.assertEqual(set(by_runner), {inst[0], inst[1]}, "both processes ran jobs")

        # Poll and download each through nginx until the other process has served it
        # (three requests per export, so that nginx's round robin alternates).
        served_elsewhere = set()
        for _ in range(3):
            for i in ids:
                if i in served_elsewhere:
                    continue
                st = c.get("/api/exports/" + i).json()
                if st["status"] != "ready":
                    continue
                for _ in range(2):
                    d = c.get(st["links"]["download"])
                    if d.status == 200:
                        self.assertEqual(sha256(d.body), st["file"]["sha256"])
            for e in nginx_log.entries(s):
                if e.download_id and e.status == 200 and e.upstream.split(",")[0].strip() != sock[ran[e.download_id]]:
                    served_elsewhere.add(e.download_id)
        note("%d of %d exports downloaded through the process that did not make them"
             % (len(served_elsewhere), len(ids)))
        self.assertGreaterEqual(len(served_elsewhere), len(ids) * 9 // 10)

        # The early ones expire while both run: owner timer and both sweepers race.
        early = set(ids[:self.EARLY])
        wait_until(lambda: not early & set(s.export_files()), 4 + 1 + SLACK_S, interval=0.05,
                   what="the early exports' files to go")

        # kill -9 the process that scheduled most pending deletions.
        pending = dict(tuple(r.split("|")) for r in s.registry_query(
            "SELECT id, scheduled_by FROM exports WHERE status='ready' AND id IN (%s)" % quoted).splitlines())
        victim = collections.Counter(pending.values()).most_common(1)[0][0]
        victim_idx = 0 if inst[0] == victim else 1
        survivor = inst[1 - victim_idx]
        orphaned = {i for i, by in pending.items() if by == victim}
        s.kill_exportd(victim_idx, signal.SIGKILL)
        killed = time.time()
        note("kill -9 of process %d with %d pending deletions scheduled on it" % (victim_idx, len(orphaned)))
        self.assertGreater(len(orphaned), 0)

        # Still served (by the survivor) until each export's expiry; zero 5xx for GETs.
        statuses = collections.Counter()
        for i in sorted(pending):
            st = c.get("/api/exports/" + i)
            statuses[st.status] += 1
            if st.status == 200 and st.json()["status"] == "ready":
                d = c.get(st.json()["links"]["download"])
                statuses[d.status] += 1
                if d.status == 200:
                    self.assertEqual(sha256(d.body), st.json()["file"]["sha256"])
        self.assertEqual(set(statuses) - {200, 410}, set(), "answers after the kill: %s" % dict(statuses))

        last = max(float(x) for x in s.registry_query(
            "SELECT expires_at FROM exports WHERE id IN (%s)" % quoted).split()) / 1000.0
        wait_until(lambda: not set(ids) & set(s.export_files()), max(0.0, last - time.time()) + 1 + SLACK_S,
                   interval=0.1, what="every file to be deleted")

        # The file goes first, then the registry records it: wait for both.
        lateness = wait_until(lambda: (lambda l: l if len(l) == len(ids) else None)(
            registry_audit.deletion_lateness_ms(s, set(ids))), 15, what="every deletion recorded")
        self.assertEqual(len(lateness), len(ids), "every export expired and its deletion recorded")
        during_lease = {i: lag for i, lag in lateness.items()
                        if i in orphaned and int(s.registry_query("SELECT expires_at FROM exports WHERE id='%s'" % i))
                        / 1000.0 < killed + LEASE_S}
        claimed = s.registry_query("SELECT COUNT(*) FROM exports WHERE scheduled_by='%s' AND id IN (%s)"
                                   % (survivor, ",".join("'%s'" % i for i in orphaned)))
        note("deletion lateness: max %d ms overall; %d orphaned due during the lease (max %s ms), "
             "%s claimed by the survivor's timers"
             % (max(lateness.values()), len(during_lease), max(during_lease.values(), default="-"), claimed))
        self.assertLessEqual(max(lateness.values()), (1 + 1.0) * 1000,
                             "no file outlived its expiry by more than a sweep interval (+1 s)")
        after_lease = [i for i in orphaned if i not in during_lease]
        self.assertLessEqual(max([lateness[i] for i in after_lease], default=0), 1500,
                             "claimed deletions run on time")
        if after_lease:
            self.assertGreater(int(claimed), 0, "the survivor claimed the dead process's timers")
            self.assertRegex(s.log(1 - victim_idx), r"rescheduled=[1-9]")

        problems = registry_audit.double_transitions(s)
        self.assertEqual(problems, [], "a transition applied twice")
        counts = registry_audit.query(
            s, "SELECT COUNT(*), SUM(old_file_deleted_at IS NULL AND new_file_deleted_at IS NOT NULL)"
               " FROM audit_changes WHERE id IN (%s)" % quoted)[0]
        note("registry: %d transitions recorded, %d file deletions for %d exports, 0 applied twice"
             % (counts[0], counts[1], len(ids)))
        self.assertEqual(counts[1], len(ids), "one recorded deletion per export")
        m = s.metrics()   # only the survivor answers now
        self.assertGreaterEqual(metric_value(m, "exportd_files_deleted_total", 'reason="expired"')
                                + metric_value(m, "exportd_files_deleted_total", 'reason="sweep"'), len(orphaned))

        # The killed process comes back and both serve again.
        s.start_exportd(victim_idx)
        r = c.create({"dataset": "orders", "format": "ndjson", "filters": {"country": "SE"}})
        self.assertEqual(r.status, 202, r)
        ready = c.wait_status(r.json()["id"], {"ready"})
        for _ in range(2):
            d = c.get(ready["links"]["download"])
            self.assertEqual((d.status, sha256(d.body)), (200, ready["file"]["sha256"]))
        self.assertEqual(registry_audit.double_transitions(s), [])


if __name__ == "__main__":
    unittest.main()
