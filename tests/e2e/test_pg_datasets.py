"""Datasets in PostgreSQL, end to end through nginx and exportd (issue: PostgreSQL datasets).

A real PostgreSQL: the ctest fixture's (label postgresql; EXPORTD_TEST_PG_DIR names it), or one
started here with tests/pg/server.sh. Each run works in a database of its own with the
1,000,000-row demo `orders` (deploy/make_demo_pg.sh) and `all_types` (tests/pg/all_types.sql).
Every filter set's rows are compared with what psql returns for the same conditions, written
by hand below, not generated from exportd's SQL. This file is over 400 lines: one fixture (the
server, its database and two stacks) serves all of its scenarios, which would otherwise each
pay for the million rows.
"""
import csv
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import zipfile

from harness import EXPIRED_SENTENCE, ROOT, Stack, sha256, wait_until

SERVER_SH = os.path.join(ROOT, "tests", "pg", "server.sh")
ROWS = int(os.environ.get("EXPORTD_TEST_PG_ROWS", "1000000"))
ORDER_COLUMNS = ["id", "created_at", "customer_email", "customer_name", "country", "status", "total_cents",
                 "currency"]
ORDER_FILTERS = {"status": {"type": "enum", "values": ["pending", "paid", "shipped", "refunded", "cancelled"]},
                 "country": {"type": "string"}, "customer_email": {"type": "string"},
                 "customer_name": {"type": "string"}, "created_at": {"type": "date"},
                 "total_cents": {"type": "integer"}}
TYPE_COLUMNS = ["id", "small", "big", "amount", "ratio", "flag", "day", "at_tz", "at_local", "uid", "doc",
                "raw_json", "tags", "scores", "label", "feeling", "span", "code"]

# (filters, the same conditions in SQL written by hand)
FILTER_SETS = [
    ({"status": "refunded", "country": "SE"}, "status = 'refunded' AND country = 'SE'"),
    ({"status": ["paid", "shipped"], "country": ["DE", "AT"], "total_cents": {"min": 99000}},
     "status IN ('paid', 'shipped') AND country IN ('DE', 'AT') AND total_cents >= 99000"),
    ({"created_at": {"from": "2025-03-01", "to": "2025-03-01"}},
     "created_at >= '2025-03-01 00:00:00+00' AND created_at < '2025-03-02 00:00:00+00'"),
    ({"created_at": {"from": "2025-03-01T12:00:00+02:00", "to": "2025-03-01T18:30:00Z"}},
     "created_at BETWEEN '2025-03-01 10:00:00+00' AND '2025-03-01 18:30:00+00'"),
    ({"created_at": {"to": "2024-01-02"}}, "created_at < '2024-01-03 00:00:00+00'"),
    ({"created_at": {"from": "2026-12-31T20:00:00.5Z"}}, "created_at > '2026-12-31 20:00:00+00'"),
    ({"total_cents": 5000}, "total_cents = 5000"),
    ({"total_cents": {"min": 100, "max": 150}}, "total_cents BETWEEN 100 AND 150"),
    ({"total_cents": {"max": 400}, "status": "pending"}, "total_cents <= 400 AND status = 'pending'"),
    ({"customer_email": {"contains": "LARS.1"}, "country": "FR"},
     "customer_email ILIKE '%lars.1%' AND country = 'FR'"),
    ({"customer_name": {"contains": "o'brien"}, "country": "PL", "status": "paid"},
     "customer_name ILIKE '%O''Brien%' AND country = 'PL' AND status = 'paid'"),
    ({"customer_name": {"contains": "a_n"}}, "position('a_n' in lower(customer_name)) > 0"),
    ({"customer_name": {"contains": "%"}}, "position('%' in customer_name) > 0"),
    ({"customer_name": {"contains": "MÜLLER"}, "country": "NL", "status": "cancelled"},
     "customer_name ILIKE '%müller%' AND country = 'NL' AND status = 'cancelled'"),
    ({"customer_name": {"contains": "\"QUOTED\""}, "country": "ES", "total_cents": {"min": 90000}},
     "customer_name LIKE '%\"Quoted\"%' AND country = 'ES' AND total_cents >= 90000"),
    ({"status": "cancelled", "created_at": {"from": "2026-06-01", "to": "2026-06-30"}, "country": "US"},
     "status = 'cancelled' AND country = 'US' AND created_at >= '2026-06-01' AND created_at < '2026-07-01'"),
    ({"country": "de"}, "country = 'de'"),
    ({"customer_email": ["hugo.1@mail.example.net", "lars.2@mail.example.net", "nobody@example.org"]},
     "customer_email IN ('hugo.1@mail.example.net', 'lars.2@mail.example.net')"),
    ({"total_cents": {"min": 50000, "max": 50000}, "customer_name": {"contains": "smith, jr."}},
     "total_cents = 50000 AND customer_name LIKE '%Smith, Jr.%'"),
]


def psql(uri, sql, check=True):
    r = subprocess.run(["psql", uri, "-XAtq", "-v", "ON_ERROR_STOP=1", "-F", "\t", "-c", sql],
                       capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError("psql failed: %s\n%s" % (sql, r.stderr))
    return r.stdout


class PsqlSession:
    """One psql kept open: a query costs a round trip, not a process start (for timing)."""

    def __init__(self, uri):
        self.proc = subprocess.Popen(["psql", uri, "-XAtq"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)

    def query(self, sql):
        self.proc.stdin.write(sql.rstrip(";") + ";\n\\echo __end__\n")
        self.proc.stdin.flush()
        lines = []
        for line in self.proc.stdout:
            if line.rstrip("\n") == "__end__":
                return "\n".join(lines)
            lines.append(line.rstrip("\n"))
        raise AssertionError("psql ended: " + "\n".join(lines))

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def with_database(uri, name):
    return re.sub(r"^postgresql:///[^?]*", "postgresql:///" + name, uri)


def epoch(rfc3339):
    from datetime import datetime
    return int(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp())


class PgServer:
    """The ctest fixture's server, or one of our own (stopped with us)."""

    def __init__(self, own=False):
        fixture = os.environ.get("EXPORTD_TEST_PG_DIR")
        self.own = own or not fixture
        self.dir = tempfile.mkdtemp(prefix="exportd-pg-") if self.own else fixture
        if self.own:
            os.chmod(self.dir, 0o755)
        self.uri = subprocess.run([SERVER_SH, "start", self.dir], check=True, capture_output=True,
                                  text=True).stdout.strip()

    def stop(self):
        if self.own:
            subprocess.run([SERVER_SH, "stop", self.dir], check=False, capture_output=True)
            shutil.rmtree(self.dir, ignore_errors=True)


class PgDatasetsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = PgServer()
        cls.db = "pgds_%d" % os.getpid()
        cls.role = "pgds_reader_%d" % os.getpid()
        psql(cls.server.uri, "DROP DATABASE IF EXISTS %s" % cls.db)
        psql(cls.server.uri, "CREATE DATABASE %s" % cls.db)
        cls.uri = with_database(cls.server.uri, cls.db)
        subprocess.run([os.path.join(ROOT, "deploy", "make_demo_pg.sh"), cls.uri, str(ROWS)], check=True)
        subprocess.run(["psql", cls.uri, "-Xq", "-v", "ON_ERROR_STOP=1", "-f",
                        os.path.join(ROOT, "tests", "pg", "all_types.sql")], check=True)
        psql(cls.uri, """
            CREATE TABLE audit (at timestamptz);
            CREATE FUNCTION pgds_write() RETURNS integer LANGUAGE sql AS
              'INSERT INTO audit VALUES (now()) RETURNING 1';
            CREATE TABLE victim AS SELECT id, customer_email AS note FROM orders WHERE id <= 100;
            DROP ROLE IF EXISTS %(role)s;
            CREATE ROLE %(role)s LOGIN;
            GRANT SELECT ON orders TO %(role)s;
        """ % {"role": cls.role})
        # A second server of our own, stopped midway (the source unreachable).
        cls.lost = PgServer(own=True)
        psql(cls.lost.uri, "CREATE TABLE t AS SELECT generate_series(1, 10) AS id")
        reader = cls.uri.replace("user=postgres", "user=" + cls.role)
        datasets = {
            "orders": {"title": "Orders", "source": cls.uri, "table": "public.orders", "columns": ORDER_COLUMNS,
                       "order_by": "id", "filters": ORDER_FILTERS},
            "orders_iso": {"source": cls.uri, "order_by": "id",
                           "query": "SELECT id, to_char(created_at AT TIME ZONE 'UTC', "
                                    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_iso FROM orders",
                           "columns": ["id", "created_iso"],
                           "filters": {"created_iso": {"type": "date", "date_storage": "iso8601-utc-text"}}},
            "types": {"source": cls.uri, "table": "all_types", "columns": TYPE_COLUMNS, "order_by": "id",
                      "filters": {"feeling": {"type": "enum", "values": ["happy", "sad", "ok"]},
                                  "day": {"type": "date"}, "at_local": {"type": "date"},
                                  "amount": {"type": "integer"}, "label": {"type": "string"}}},
            "slow": {"source": cls.uri, "statement_timeout_ms": 300, "columns": ["id"],
                     "query": "SELECT o.id FROM orders o, (SELECT pg_sleep(1)) AS s"},
            "writer": {"source": cls.uri, "columns": ["id", "w"],
                       "query": "SELECT id, pgds_write() AS w FROM orders WHERE id <= 3"},
            "victim": {"source": cls.uri, "table": "victim", "columns": ["id", "note"]},
            "as_reader": {"source": reader, "table": "orders", "columns": ["id", "status"]},
            "lost": {"source": cls.lost.uri, "table": "t", "columns": ["id"]},
        }
        cls.session = PsqlSession(cls.uri)
        cls.fast = Stack(retention=2, sweep=1, rows=100, name="pg-fast", datasets={"datasets": datasets},
                         config={"max_rows": ROWS // 5}).start()
        cls.slow_stack = Stack(retention=30, sweep=1, rows=100, name="pg-slow",
                               datasets={"datasets": {"orders": datasets["orders"]}},
                               config={"export_rows_per_second": 2000, "max_source_connections": 1,
                                       "max_active_exports_per_owner": 10}).start()

    @classmethod
    def tearDownClass(cls):
        for stack in ("fast", "slow_stack"):
            if hasattr(cls, stack):
                getattr(cls, stack).stop()
        if hasattr(cls, "lost"):
            cls.lost.stop()
        if hasattr(cls, "session"):
            cls.session.close()
        psql(cls.server.uri, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % cls.db, check=False)
        psql(cls.server.uri, "DROP ROLE IF EXISTS %s" % cls.role, check=False)
        cls.server.stop()

    # --- helpers -------------------------------------------------------------
    def export(self, body, stack=None, statuses=("ready", "failed")):
        c = (stack or self.fast).client()
        r = c.create(body)
        self.assertIn(r.status, (200, 202), r)
        return c, c.wait_status(r.json()["id"], set(statuses), timeout=120)

    def download(self, c, ready):
        d = c.get(ready["links"]["download"])
        self.assertEqual(d.status, 200, d)
        self.assertEqual(sha256(d.body), ready["file"]["sha256"])
        return d.body

    def assertNoPartFiles(self, stack):
        self.assertEqual([f for f in stack.export_files() if f.endswith(".part")], [], "no partial file left")

    def failed_with(self, dataset, code):
        _, e = self.export({"dataset": dataset, "format": "csv"})
        self.assertEqual(e["status"], "failed", e)
        self.assertEqual(e["error"]["code"], code, e)
        self.assertNotIn("postgresql://", e["error"]["message"])
        self.assertNoPartFiles(self.fast)
        return e

    def backends(self):
        return int(self.session.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                      "'exportd export' AND datname = current_database()").strip())

    # --- the seed scenario -----------------------------------------------------
    def test_seed_scenario_create_poll_download_expire(self):
        filters = {"status": ["shipped", "paid"], "country": "DE",
                   "created_at": {"from": "2025-01-01", "to": "2025-06-30"},
                   "total_cents": {"min": 1000, "max": 50000}, "customer_email": {"contains": "example.org"}}
        c, ready = self.export({"dataset": "orders", "format": "csv", "filters": filters})
        self.assertEqual(ready["status"], "ready", ready)
        body = self.download(c, ready)
        rows = list(csv.reader(io.StringIO(body.decode(), newline="")))
        self.assertEqual(rows[0], ORDER_COLUMNS)
        expected = psql(self.uri, "SELECT id FROM orders WHERE status IN ('shipped', 'paid') AND country = 'DE' "
                                  "AND created_at >= '2025-01-01Z' AND created_at < '2025-07-01Z' "
                                  "AND total_cents BETWEEN 1000 AND 50000 AND customer_email ILIKE '%example.org%' "
                                  "ORDER BY id").split()
        self.assertGreater(len(expected), 100)
        self.assertEqual([r[0] for r in rows[1:]], expected, "the rows psql finds, in order")
        self.assertEqual(ready["file"]["rows"], len(expected))
        self.assertRegex(rows[1][1], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", "timestamptz as RFC 3339 UTC")
        wait_until(lambda: c.get(ready["links"]["download"]).status == 410, 5, what="expiry")
        gone = c.get(ready["links"]["download"])
        self.assertEqual(gone.json()["error"], "export_expired")
        self.assertEqual(gone.json()["message"], EXPIRED_SENTENCE)
        wait_until(lambda: ready["id"] not in self.fast.export_files(), 3, what="the file deleted")

    # --- filters against psql --------------------------------------------------
    def test_filter_sets_match_psql(self):
        non_empty = 0
        for filters, where in FILTER_SETS:
            with self.subTest(filters=filters):
                c, ready = self.export({"dataset": "orders", "format": "ndjson", "filters": filters})
                self.assertEqual(ready["status"], "ready", ready)
                got = []
                for line in self.download(c, ready).decode().split("\n")[:-1]:
                    o = json.loads(line)
                    got.append([str(o["id"]), str(epoch(o["created_at"])), o["customer_email"],
                                o["customer_name"], o["country"], o["status"], str(o["total_cents"]),
                                o["currency"]])
                out = psql(self.uri, "SELECT id, extract(epoch FROM created_at)::bigint, customer_email, "
                                     "customer_name, country, status, total_cents, currency FROM orders "
                                     "WHERE %s ORDER BY id" % where)
                expected = [line.split("\t") for line in out.splitlines()]
                self.assertEqual(len(got), len(expected), where)
                self.assertEqual(got, expected, where)
                self.assertEqual(ready["file"]["rows"], len(expected))
                non_empty += bool(expected)
        self.assertGreaterEqual(non_empty, 14, "most sets select rows")

    def test_iso_text_dates_on_postgresql_match_native_ones(self):
        c, ready = self.export({"dataset": "orders_iso", "format": "csv",
                                "filters": {"created_iso": {"from": "2025-02-28T06:00:00Z", "to": "2025-02-28"}}})
        rows = list(csv.reader(io.StringIO(self.download(c, ready).decode(), newline="")))[1:]
        expected = psql(self.uri, "SELECT id FROM orders WHERE created_at >= '2025-02-28 06:00Z' "
                                  "AND created_at < '2025-03-01Z' ORDER BY id").split()
        self.assertGreater(len(expected), 10)
        self.assertEqual([r[0] for r in rows], expected)

    # --- types in every format -------------------------------------------------
    def test_types_in_csv(self):
        c, ready = self.export({"dataset": "types", "format": "csv"})
        rows = list(csv.DictReader(io.StringIO(self.download(c, ready).decode(), newline="")))
        by_id = {r["id"]: r for r in rows}
        one, two, nulls, four, five = by_id["1"], by_id["2"], by_id["3"], by_id["4"], by_id["5"]
        self.assertEqual(one["big"], "9223372036854775807")
        self.assertEqual(one["amount"], "12345678901234567890.123456789", "numeric: every digit")
        self.assertEqual(two["amount"], "1.50", "numeric: its scale kept")
        self.assertEqual(one["flag"], "true")
        self.assertEqual(one["day"], "2026-02-28")
        self.assertEqual(one["at_tz"], "2026-03-01T10:34:56.789Z", "timestamptz: RFC 3339 UTC")
        self.assertEqual(two["at_local"], "2000-01-01T00:00:00.5Z", "timestamp: read as UTC")
        self.assertEqual(one["uid"], "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        self.assertEqual(json.loads(one["doc"]), {"a": [1, 2, {"b": None}], "s": "x\"y"}, "jsonb: its text")
        self.assertEqual(json.loads(one["tags"]), ["x", "y,z", None], "an array: JSON text")
        self.assertEqual(one["label"], "Grüße ✓ 😀 עברית")
        self.assertEqual(two["label"], "'=SUM(A1:A2)", "the formula guard")
        self.assertEqual(four["label"], "tab\there, cr\r, zero\u200bwidth, e\u0301, \u2028sep")
        self.assertEqual(four["day"], "infinity")
        self.assertEqual(four["at_local"], "0044-03-15T12:00:00Z BC")
        self.assertEqual(five["at_local"], "9999-12-31T23:59:59.999999Z")
        self.assertEqual(five["ratio"], "NaN")
        self.assertEqual(one["span"], "P1DT2H3M4S")
        self.assertEqual([v for k, v in nulls.items() if k != "id"], [""] * (len(TYPE_COLUMNS) - 1),
                         "NULL: empty fields")

    def test_types_in_ndjson(self):
        c, ready = self.export({"dataset": "types", "format": "ndjson"})
        rows = {o["id"]: o for o in map(json.loads, self.download(c, ready).decode().split("\n")[:-1])}
        one, two, nulls, four, five = rows[1], rows[2], rows[3], rows[4], rows[5]
        self.assertEqual(one["small"], -32768)
        self.assertEqual(one["big"], 9223372036854775807)
        self.assertEqual(five["big"], 9007199254740993, "beyond 2^53, exact")
        raw = self.download(c, ready).decode()
        self.assertIn('"amount":12345678901234567890.123456789', raw, "numeric: a JSON number, every digit")
        self.assertIn('"ratio":-2.5e-07', raw)
        self.assertEqual(five["ratio"], "NaN", "NaN: a string, JSON has none")
        self.assertIs(one["flag"], True)
        self.assertIs(two["flag"], False)
        self.assertEqual(one["day"], "2026-02-28")
        self.assertEqual(one["at_tz"], "2026-03-01T10:34:56.789Z")
        self.assertEqual(one["doc"], {"a": [1, 2, {"b": None}], "s": "x\"y"}, "jsonb: nested")
        self.assertEqual(one["raw_json"], {"k": "v"}, "json with a line break stays on its line")
        self.assertEqual(four["doc"], 12.5)
        self.assertEqual(one["tags"], ["x", "y,z", None], "text[]: a JSON array")
        self.assertEqual(four["scores"], [None, 5])
        self.assertEqual(two["tags"], [])
        self.assertEqual(one["label"], "Grüße ✓ 😀 עברית")
        self.assertEqual(one["feeling"], "happy", "an enum: its label")
        self.assertEqual(nulls, dict({k: None for k in TYPE_COLUMNS}, id=3), "NULL: null")

    def test_types_in_xlsx(self):
        c, ready = self.export({"dataset": "types", "format": "xlsx"})
        sheet = zipfile.ZipFile(io.BytesIO(self.download(c, ready))).read("xl/worksheets/sheet1.xml").decode()
        cells = dict(re.findall(r'<c r="([A-Z]+\d+)"([^>]*>.*?)</c>', sheet))
        col = {name: chr(ord("A") + i) for i, name in enumerate(TYPE_COLUMNS)}

        def cell(name, row):
            return cells.get("%s%d" % (col[name], row + 1))
        self.assertEqual(cell("small", 1), "><v>-32768</v>", "an integer: a number")
        self.assertIn("9223372036854775807</t>", cell("big", 1), "past 2^53: text, every digit")
        self.assertIn("12345678901234567890.123456789</t>", cell("amount", 1), "numeric past a double: text")
        self.assertEqual(cell("amount", 2), "><v>1.5</v>", "numeric a double holds exactly: a number")
        self.assertEqual(cell("ratio", 4), "><v>1E+20</v>", "double precision: a number")
        self.assertEqual(cell("flag", 1), ' t="b"><v>1</v>', "boolean: a boolean")
        self.assertRegex(cell("day", 1), r'^ s="\d+"><v>46081</v>$', "date: a date serial")
        self.assertRegex(cell("at_tz", 2), r'^ s="\d+"><v>25569</v>$', "1970-01-01T00:00:00Z")
        self.assertIn("infinity</t>", cell("day", 4), "infinity: text")
        self.assertIn("Grüße ✓ 😀 עברית</t>", cell("label", 1))
        self.assertIsNone(cell("label", 3), "NULL: an empty cell")
        self.assertIsNone(cell("doc", 3))

    # --- limits as for SQLite --------------------------------------------------
    def test_max_rows_fails_before_writing(self):
        _, e = self.export({"dataset": "orders", "format": "csv"})
        self.assertEqual(e["status"], "failed", e)
        self.assertEqual(e["error"]["code"], "too_many_rows")
        self.assertNoPartFiles(self.fast)

    # --- failures --------------------------------------------------------------
    def test_statement_timeout_fails_as_source_timeout(self):
        self.failed_with("slow", "source_timeout")

    def test_query_that_writes_is_refused_by_the_read_only_transaction(self):
        e = self.failed_with("writer", "source_error")
        self.assertEqual(psql(self.uri, "SELECT count(*) FROM audit").strip(), "0", "nothing written")
        self.assertIn("read-only transaction", self.fast.log())
        self.assertTrue(e["error"]["message"])

    def test_column_dropped_after_start_fails_as_source_error(self):
        c, ready = self.export({"dataset": "victim", "format": "csv"})
        self.assertEqual(ready["status"], "ready", ready)
        psql(self.uri, "ALTER TABLE victim DROP COLUMN note")
        self.failed_with("victim", "source_error")

    def test_refused_login_fails_as_source_refused(self):
        psql(self.uri, "ALTER ROLE %s NOLOGIN" % self.role)
        try:
            self.failed_with("as_reader", "source_refused")
        finally:
            psql(self.uri, "ALTER ROLE %s LOGIN" % self.role)
        _, e = self.export({"dataset": "as_reader", "format": "csv", "filters": {}})
        self.assertEqual(e["status"], "failed", "as_reader has no filters: it reads all rows, over max_rows")
        self.assertEqual(e["error"]["code"], "too_many_rows", "the role logs in again")

    def test_unreachable_source_fails_as_source_unavailable(self):
        subprocess.run([SERVER_SH, "stop", self.lost.dir], check=True, capture_output=True)
        self.failed_with("lost", "source_unavailable")
        health = self.fast.client().get("/api/health")
        self.assertEqual(health.status, 200, "a dataset's source is not exportd's health")

    # --- cancel, kill, connection cap (a throttled stack) ---------------------------
    def running_export(self, c, filters):
        r = c.create({"dataset": "orders", "format": "csv", "filters": filters})
        self.assertEqual(r.status, 202, r)
        export_id = r.json()["id"]
        wait_until(lambda: (c.get("/api/exports/" + export_id).json().get("progress") or {})
                   .get("rows_written", 0) > 0, 20, what="rows flowing")
        return export_id

    def test_delete_of_a_running_export_ends_its_backend_within_a_second(self):
        c = self.slow_stack.client()
        export_id = self.running_export(c, {"status": "paid"})
        self.assertEqual(self.backends(), 1)
        started = time.monotonic()
        d = c.request("DELETE", "/api/exports/" + export_id)
        self.assertEqual(d.status, 200, d)
        wait_until(lambda: self.backends() == 0, 1.0, interval=0.01, what="the backend gone")
        self.assertLess(time.monotonic() - started, 1.0, "DELETE answered and the backend gone within 1 s")
        self.assertEqual(c.get("/api/exports/" + export_id).json()["status"], "deleted")
        wait_until(lambda: not any(f.startswith(export_id) for f in self.slow_stack.export_files()), 2,
                   what="the partial file removed")

    def test_backend_killed_mid_export_fails_as_source_unavailable(self):
        c = self.slow_stack.client()
        export_id = self.running_export(c, {"status": "shipped"})
        psql(self.uri, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE application_name = 'exportd export' AND datname = current_database()")
        e = c.wait_status(export_id, {"failed"}, timeout=10)
        self.assertEqual(e["error"]["code"], "source_unavailable", e)
        self.assertNoPartFiles(self.slow_stack)

    def test_max_source_connections_queues_the_second_export(self):
        c = self.slow_stack.client()
        first = self.running_export(c, {"status": "pending"})
        second = c.create({"dataset": "orders", "format": "csv", "filters": {"status": "refunded"}}).json()["id"]
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            self.assertLessEqual(self.backends(), 1, "at most max_source_connections")
            s = c.get("/api/exports/" + second).json()
            self.assertIn(s["status"], ("queued", "running"), s)
            self.assertEqual((s.get("progress") or {}).get("rows_written", 0), 0, "waits for the connection")
            time.sleep(0.1)
        self.assertEqual(c.request("DELETE", "/api/exports/" + first).status, 200)
        wait_until(lambda: (c.get("/api/exports/" + second).json().get("progress") or {})
                   .get("rows_written", 0) > 0, 10, what="the second export to get the connection")
        self.assertEqual(c.request("DELETE", "/api/exports/" + second).status, 200)
        wait_until(lambda: self.backends() == 0, 2, what="no backend left")

    # --- --check-config ----------------------------------------------------------
    def check_config(self, dataset):
        d = tempfile.mkdtemp(prefix="exportd-pgcheck-")
        try:
            with open(os.path.join(d, "datasets.json"), "w") as f:
                json.dump({"datasets": {"ds": dataset}}, f)
            with open(os.path.join(d, "exportd.properties"), "w") as f:
                f.write("data_dir = %s\ndatasets_file = %s/datasets.json\nfile_group = %s\n"
                        % (d, d, self.fast.group))
            r = subprocess.run([os.path.join(os.environ.get("EXPORTD_BUILD_DIR", os.path.join(ROOT, "build")),
                                             "fcgi_app", "exportd"), "--config", os.path.join(d, "exportd.properties"),
                                "--check-config"], capture_output=True, text=True, timeout=60)
            return r.returncode, r.stdout + r.stderr
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_check_config_accepts_the_datasets_and_refuses_what_cannot_work(self):
        rc, out = self.check_config({"source": self.uri, "table": "all_types", "columns": TYPE_COLUMNS})
        self.assertEqual(rc, 0, out)
        cases = [
            ({"source": self.uri, "table": "blobs", "columns": ["id", "data"]},
             "datasets.ds.columns[1]: column \"data\" has type bytea"),
            ({"source": self.uri, "table": "all_types", "columns": ["id", "nope"]},
             "datasets.ds.columns[1]: no column \"nope\""),
            ({"source": self.uri, "table": "nope", "columns": ["id"]}, "datasets.ds.table: no table"),
            ({"source": self.uri, "table": "all_types", "columns": ["id"], "filters": {"flag": {"type": "string"}}},
             "datasets.ds.filters.flag: a string filter needs a text column"),
            ({"source": self.uri, "table": "all_types", "columns": ["id"], "filters": {"label": {"type": "date"}}},
             "datasets.ds.filters.label: a date filter needs a date, timestamp or timestamptz column"),
            ({"source": self.uri, "table": "all_types", "columns": ["id"],
              "filters": {"label": {"type": "integer"}}}, "datasets.ds.filters.label: an integer filter"),
            ({"source": self.uri, "table": "all_types", "columns": ["id"],
              "filters": {"feeling": {"type": "enum", "values": ["happy", "angry"]}}},
             "\"angry\" is not a value of the enum type mood"),
            ({"source": self.uri, "columns": ["id"],
              "query": "WITH d AS (DELETE FROM victim RETURNING id) SELECT id FROM d"}, "datasets.ds.query"),
            ({"source": self.uri.replace("user=postgres", "user=" + self.role), "table": "all_types",
              "columns": ["id"]}, "datasets.ds.table: the role may not read"),
            ({"source": "postgresql://bob:s3cretpw@127.0.0.1:1/x", "table": "t", "columns": ["id"]},
             "datasets.ds.source: cannot connect to PostgreSQL (host=127.0.0.1 port=1"),
            ({"source": "sqlite:x.db", "table": "t", "columns": ["id"], "statement_timeout_ms": 5},
             "datasets.ds.statement_timeout_ms: is only allowed for a PostgreSQL source"),
        ]
        for dataset, message in cases:
            with self.subTest(message=message):
                rc, out = self.check_config(dataset)
                self.assertNotEqual(rc, 0, out)
                self.assertIn(message, out)
                self.assertNotIn("s3cretpw", out, "never the password")
        self.assertEqual(psql(self.uri, "SELECT count(*) FROM victim").strip(), "100", "the CTE wrote nothing")


if __name__ == "__main__":
    unittest.main(verbosity=2)
