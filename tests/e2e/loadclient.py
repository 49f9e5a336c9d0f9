"""A small load client for exportd behind nginx: N threads, each one browser-like
session (its own keep-alive connection and session cookie), creating exports,
polling their status and downloading them until they expire.

Each worker keeps up to `max_tracked` exports of its own in flight. For each it
polls GET /api/exports/{id} until `ready`, then downloads it (mostly GET, some
HEAD and Range requests) again and again until the answer is 410, then checks
that the status says `expired`. Every answer is checked as it arrives:
- a 200 download must be the file: Content-Disposition with file.name, the
  length of file.size_bytes, the bytes' sha256 equal to file.sha256 (anything
  else is an nginx page served in place of the file);
- a 200 download for a request sent at or after expires_at is a late download;
- a 410 received before expires_at is an early expiry.

Run by tests/e2e/test_load.py, or by hand against any running stack:
    python3 tests/e2e/loadclient.py --port 8080 --seconds 20 --connections 16
prints the report as JSON.
"""
import argparse
import datetime
import hashlib
import http.client
import json
import random
import threading
import time

COUNTRIES = ["DE", "FR", "NL", "IT", "ES", "PL", "SE", "AT", "BE", "DK", "FI", "IE", "PT", "CZ"]
STATUSES = ["pending", "paid", "shipped", "refunded", "cancelled"]


def parse_time(text):
    """RFC 3339 UTC ('2026-11-29T11:46:25.123Z') to Unix seconds (float)."""
    if text is None:
        return None
    dt = datetime.datetime.strptime(text.replace("Z", "+0000"),
                                    "%Y-%m-%dT%H:%M:%S.%f%z" if "." in text else "%Y-%m-%dT%H:%M:%S%z")
    return dt.timestamp()


def percentile(values, p):
    if not values:
        return 0.0
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


class Report:
    """Counters shared by all workers (guarded by one lock)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = []          # seconds, every request
        self.by_status = {}          # HTTP status -> count
        self.by_kind = {}            # "create", "status", "download", "head", "range" -> count
        self.created = 0
        self.too_many = 0            # 429 (per-owner limit): expected now and then
        self.ready_seen = 0
        self.expired_confirmed = 0   # status said expired after the 410
        self.failed = []             # exports that failed (id, error)
        self.downloads_200 = 0
        self.ranges_206 = 0
        self.heads_200 = 0
        self.bytes_downloaded = 0
        self.gone_410 = 0
        self.late_downloads = []     # (id, sent_at, expires_at): 200 for a request sent at/after expiry
        self.early_410 = []          # (id, received_at, expires_at)
        self.bad_bodies = []         # (id, status, why): an error page where the file should be
        self.errors = []             # unexpected answers or connection errors
        self.exports = {}            # id -> {"expires_at": s, "size": n}
        self.started = self.finished = 0.0

    def count(self, status, kind, latency):
        with self.lock:
            self.latencies.append(latency)
            self.by_status[status] = self.by_status.get(status, 0) + 1
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1

    def add(self, field, item=None, by=1):
        with self.lock:
            if item is None:
                setattr(self, field, getattr(self, field) + by)
            else:
                getattr(self, field).append(item)

    def summary(self):
        with self.lock:
            requests = len(self.latencies)
            return {
                "seconds": round(self.finished - self.started, 2),
                "requests": requests,
                "requests_per_second": round(requests / max(0.001, self.finished - self.started), 1),
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                "by_kind": dict(sorted(self.by_kind.items())),
                "5xx": sum(v for k, v in self.by_status.items() if k >= 500),
                "latency_p50_ms": round(percentile(self.latencies, 50) * 1000, 2),
                "latency_p99_ms": round(percentile(self.latencies, 99) * 1000, 2),
                "latency_max_ms": round(max(self.latencies or [0]) * 1000, 2),
                "exports_created": self.created,
                "exports_ready_seen": self.ready_seen,
                "exports_expired_confirmed": self.expired_confirmed,
                "exports_failed": len(self.failed),
                "too_many_429": self.too_many,
                "downloads_200": self.downloads_200,
                "ranges_206": self.ranges_206,
                "heads_200": self.heads_200,
                "bytes_downloaded": self.bytes_downloaded,
                "gone_410": self.gone_410,
                "late_downloads": len(self.late_downloads),
                "early_410": len(self.early_410),
                "bad_bodies": len(self.bad_bodies),
                "errors": len(self.errors),
                "last_expires_at": max((e["expires_at"] for e in self.exports.values()), default=None),
            }


class Worker(threading.Thread):
    def __init__(self, index, port, report, end_at, hard_end_at, max_tracked, retentions, rng):
        super().__init__(name="load-%d" % index, daemon=True)
        self.index = index
        self.port = port
        self.report = report
        self.end_at = end_at
        self.hard_end_at = hard_end_at
        self.max_tracked = max_tracked
        self.retentions = retentions
        self.rng = rng
        self.cookies = {}
        self.conn = None
        self.serial = 0

    # --- HTTP ----------------------------------------------------------------
    def _connect(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def request(self, kind, method, path, body=None, headers=None):
        """Returns (status, headers dict lower-cased, body bytes, sent_at wall time, received_at)."""
        h = dict(headers or {})
        if body is not None:
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        for attempt in (1, 2):
            if self.conn is None:
                self._connect()
            sent_at = time.time()
            t0 = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
            except (http.client.HTTPException, OSError) as e:
                # A kept-alive connection the server closed: reconnect once.
                self._connect()
                if attempt == 2:
                    self.report.add("errors", ("connection", method, path, repr(e)))
                    return None
                continue
            latency = time.perf_counter() - t0
            received_at = time.time()
            headers_out = {}
            for k, v in r.getheaders():
                headers_out.setdefault(k.lower(), v)
                if k.lower() == "set-cookie":
                    name, _, rest = v.partition("=")
                    self.cookies[name.strip()] = rest.split(";")[0]
            self.report.count(r.status, kind, latency)
            if r.will_close:
                self._connect()
            return r.status, headers_out, data, sent_at, received_at
        return None

    # --- one export ------------------------------------------------------------
    def create(self):
        self.serial += 1
        filters = {"country": COUNTRIES[(self.index + self.serial) % len(COUNTRIES)],
                   "status": STATUSES[self.serial % len(STATUSES)],
                   # makes every request distinct (no double-click answer) and small
                   "total_cents": {"min": self.index * 100000 + self.serial}}
        retention = self.rng.choice(self.retentions)
        got = self.request("create", "POST", "/api/exports",
                           body={"dataset": "orders", "format": "csv", "filters": filters,
                                 "retention_seconds": retention})
        if got is None:
            return None
        status, _, data, _, _ = got
        if status == 202:
            self.report.add("created")
            return {"id": json.loads(data)["id"], "state": "pending"}
        if status == 429:
            self.report.add("too_many")
            return None
        self.report.add("errors", ("create", status, data[:200]))
        return None

    def poll(self, ex):
        got = self.request("status", "GET", "/api/exports/" + ex["id"])
        if got is None:
            return
        status, _, data, _, _ = got
        if status != 200:
            self.report.add("errors", ("status", ex["id"], status, data[:200]))
            ex["state"] = "done"
            return
        body = json.loads(data)
        if body["status"] == "ready":
            ex["state"] = "ready"
            ex["expires_at"] = parse_time(body["expires_at"])
            ex["file"] = body["file"]
            self.report.add("ready_seen")
            with self.report.lock:
                self.report.exports[ex["id"]] = {"expires_at": ex["expires_at"], "size": body["file"]["size_bytes"]}
        elif body["status"] == "failed":
            self.report.add("failed", (ex["id"], body.get("error")))
            ex["state"] = "done"
        elif body["status"] in ("expired", "deleted"):
            # ready and expired between two polls: possible only with a 1 s retention
            with self.report.lock:
                self.report.exports[ex["id"]] = {"expires_at": parse_time(body.get("expires_at")), "size": 0}
            ex["state"] = "done"

    def download(self, ex):
        choice = self.rng.random()
        eid, f = ex["id"], ex["file"]
        path = "/api/exports/%s/download" % eid
        if choice < 0.1:
            kind, method, headers = "head", "HEAD", {}
        elif choice < 0.2:
            kind, method, headers = "range", "GET", {"Range": "bytes=0-15"}
        else:
            kind, method, headers = "download", "GET", {}
        got = self.request(kind, method, path, headers=headers)
        if got is None:
            return
        status, h, data, sent_at, received_at = got
        disposition = 'attachment; filename="%s"' % f["name"]
        if status in (200, 206):
            if method == "GET" and sent_at >= ex["expires_at"]:
                self.report.add("late_downloads", (eid, sent_at, ex["expires_at"]))
            if h.get("content-disposition") != disposition:
                self.report.add("bad_bodies", (eid, status, "content-disposition %r" % h.get("content-disposition")))
            if kind == "download":
                if len(data) != f["size_bytes"] or hashlib.sha256(data).hexdigest() != f["sha256"]:
                    self.report.add("bad_bodies", (eid, status, "body of %d bytes is not the file" % len(data)))
                else:
                    self.report.add("downloads_200")
                    self.report.add("bytes_downloaded", by=len(data))
            elif kind == "range":
                if status != 206 or not data.startswith(b"id,created") or len(data) != 16:
                    self.report.add("bad_bodies", (eid, status, "range answer %r" % data[:40]))
                else:
                    self.report.add("ranges_206")
            else:
                if int(h.get("content-length", -1)) != f["size_bytes"]:
                    self.report.add("bad_bodies", (eid, status, "HEAD length %s" % h.get("content-length")))
                else:
                    self.report.add("heads_200")
        elif status == 410:
            self.report.add("gone_410")
            if received_at < ex["expires_at"]:
                self.report.add("early_410", (eid, received_at, ex["expires_at"]))
            if "content-disposition" in h:
                self.report.add("bad_bodies", (eid, status, "410 with Content-Disposition"))
            if method == "GET" and json.loads(data).get("error") != "export_expired":
                self.report.add("errors", ("410 body", eid, data[:200]))
            ex["state"] = "gone"
        else:
            if "content-disposition" in h:
                self.report.add("bad_bodies", (eid, status, "error page with Content-Disposition"))
            self.report.add("errors", ("download", eid, status, data[:200]))
            ex["state"] = "done"

    def confirm_expired(self, ex):
        got = self.request("status", "GET", "/api/exports/" + ex["id"])
        if got is None:
            return
        status, _, data, _, _ = got
        if status == 200 and json.loads(data)["status"] == "expired":
            self.report.add("expired_confirmed")
        else:
            self.report.add("errors", ("expired status", ex["id"], status, data[:200]))
        ex["state"] = "done"

    def run(self):
        try:
            self._run()
        except Exception as e:  # a crash of the client is an error of the run, never silent
            self.report.add("errors", ("worker crashed", self.name, repr(e)))

    def _run(self):
        self.request("datasets", "GET", "/api/datasets")  # the session cookie, as a browser gets it
        tracked = []
        while time.time() < self.hard_end_at:
            now = time.time()
            if now < self.end_at and len(tracked) < self.max_tracked:
                ex = self.create()
                if ex:
                    tracked.append(ex)
            if not tracked:
                if now >= self.end_at:
                    break
                time.sleep(0.02)
                continue
            for ex in tracked:
                if ex["state"] == "pending":
                    self.poll(ex)
                elif ex["state"] == "ready":
                    self.download(ex)
                elif ex["state"] == "gone":
                    self.confirm_expired(ex)
            tracked = [ex for ex in tracked if ex["state"] != "done"]
        if tracked:
            self.report.add("errors", ("unfinished at the hard deadline", [ex["id"] for ex in tracked]))
        if self.conn is not None:
            self.conn.close()


def run_load(port, seconds=20.0, connections=16, max_tracked=3, retentions=(1, 2, 3), seed=1):
    """Runs the load for `seconds` (creating exports), then until the exports it
    made have expired; returns the Report."""
    report = Report()
    report.started = time.time()
    end_at = report.started + seconds
    hard_end_at = end_at + max(retentions) + 20
    rng = random.Random(seed)
    workers = [Worker(i, port, report, end_at, hard_end_at, max_tracked, retentions,
                      random.Random(rng.random())) for i in range(connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(hard_end_at - time.time() + 5)
    report.finished = time.time()
    return report


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--max-tracked", type=int, default=3)
    ap.add_argument("--retentions", default="1,2,3", help="retention_seconds to ask for, comma-separated")
    args = ap.parse_args()
    report = run_load(args.port, args.seconds, args.connections, args.max_tracked,
                      tuple(int(x) for x in args.retentions.split(",")))
    out = report.summary()
    out["samples"] = {"late_downloads": report.late_downloads[:5], "early_410": report.early_410[:5],
                      "bad_bodies": report.bad_bodies[:5], "errors": report.errors[:5]}
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
