# One e2e file for hostile input (over 400 lines): the table and one class per concern.
"""Hostile requests, limits, ids, file modes and CSV formula injection.

docs/api.md, Errors and Limits (every error with its status, code and field; a
refused request creates nothing), Ids, and Owners and sessions;
docs/operations.md, Files and modes and Security (file modes and names, formula
injection); end to end through nginx, plus direct FastCGI requests for what
nginx would never pass on. Run with EXPORTD_PRINT_TABLE=1 to print every
hostile input with the answer it got.
"""
import atexit
import base64
import csv
import grp
import http.client
import io
import json
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import tempfile
import threading
import time
import unittest

import fcgi_client
from harness import ROOT, Stack, metric_value, wait_until

ABSENT = object()       # the error body must not have a "field"
NGINX = None            # nginx answers itself: its status stands, no exportd code
JSON_CT = "application/json"
ID_RE = re.compile(r"^[A-Za-z0-9_-]{22,32}$")
PRINT_TABLE = os.environ.get("EXPORTD_PRINT_TABLE") == "1"

# --- a fixture dataset whose values are the hostile strings themselves --------
NOTES_LABELS = [
    "100%", "100 percent", "a_b", "axb", "ab", "back\\slash", "backslash", "O'Brien", 'say "hi"',
    "=SUM(A1:A9)", "+1 555", "-2 dollars", "@cmd", "\tTabbed", "\rReturn", "Anna =Formula",
    "DE' OR '1'='1", "' OR 1=1 --", "Robert'); DROP TABLE notes;--", "%", "_",
    '=HYPERLINK("http://evil.example/?a=1,b","click")', "plain", "MiXeD CaSe", "x\"; filename=\"evil.sh",
    # A second cell where `;` (Excel's list separator in many locales) or a TAB splits the value.
    "x;=cmd|' /C calc'!A0", "x\t=cmd|' /C calc'!A0", "x; -2+3", "x;\t@SUM(A1)", "two\n=lines",
]
NOTES = [(i + 1, "a" if i % 2 == 0 else "b", label, (i * 37) % 100 - 50, "2024-%02d-01T00:00:00Z" % (i % 12 + 1))
         for i, label in enumerate(NOTES_LABELS)]
NOTES_FILTERS = {"kind": {"type": "enum", "values": ["a", "b"]}, "label": {"type": "string"},
                 "amount": {"type": "integer"}, "created_at": {"type": "date"}}


_FIXTURE = []


def make_fixture_db():
    """notes.db, made once per test process (each Stack copies it) and removed at exit."""
    if _FIXTURE:
        return _FIXTURE[0]
    d = tempfile.mkdtemp(prefix="exportd-e2e-fixture-")
    atexit.register(shutil.rmtree, d, True)
    path = os.path.join(d, "notes.db")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, kind TEXT, label TEXT, amount INTEGER, created_at TEXT)")
    db.executemany("INSERT INTO notes VALUES (?, ?, ?, ?, ?)", NOTES)
    db.commit()
    db.close()
    _FIXTURE.append(path)
    return path


def datasets_doc():
    with open(os.path.join(ROOT, "deploy", "datasets.json")) as f:
        doc = json.load(f)
    notes = {"title": "Notes", "source": "sqlite:notes.db", "table": "notes",
             "columns": ["id", "kind", "label", "amount", "created_at"], "order_by": "id",
             "filters": NOTES_FILTERS}
    doc["datasets"]["notes"] = notes                                    # csv_formula_guard: default on
    doc["datasets"]["notes_raw"] = dict(notes, title="Notes (raw)", csv_formula_guard=False)
    return doc


def guarded_label(label):
    """The CSV guard: a leading `'` before a formula character at the start of
    the text and after each character that starts a cell for some reader."""
    formula = ("=", "+", "-", "@", "\t", "\r")
    out = "'" if label[:1] in formula else ""
    for i, ch in enumerate(label):
        out += ch
        if ch in (";", "\t", "\r", "\n") and label[i + 1:i + 2] in formula and label[i + 1:i + 2]:
            out += "'"
    return out


def data_stack(name, **kw):
    return Stack(name=name, datasets=datasets_doc(), files={"notes.db": make_fixture_db()}, **kw)


def snapshot(stack):
    """What a refused request must not change: registry rows and export files."""
    return int(stack.registry_query("SELECT count(*) FROM exports")), stack.export_files()


def padded_json(size):
    """A valid request body of exactly `size` bytes."""
    head = b'{"dataset": "orders", "filters": {"country": "SE", "status": "refunded"}'
    return head + b" " * (size - len(head) - 1) + b"}"


# --- the hostile table -------------------------------------------------------
class Case:
    def __init__(self, label, status, code, field=ABSENT, method="POST", path="/api/exports", body=None,
                 ctype=JSON_CT, headers=None):
        self.label, self.status, self.code, self.field = label, status, code, field
        self.method, self.path, self.body, self.ctype, self.headers = method, path, body, ctype, headers or {}


def bad_json(label, body):
    return Case(label, 400, "invalid_json", body=body)


def bad_request(label, body, field):
    return Case(label, 400, "invalid_request", field, body=body)


def orders(filters=None, **extra):
    body = {"dataset": "orders"}
    if filters is not None:
        body["filters"] = filters
    body.update(extra)
    return body


def date_from(value, side="from"):
    return bad_request("impossible date %s %r" % (side, value), orders({"created_at": {side: value}}),
                       "filters.created_at." + side)


MINIMAL = json.dumps({"dataset": "orders"}).encode()
UNKNOWN_ID = "A" * 22
BAD_IDS = ["abc", "A" * 21, "A" * 33, "A" * 200, "A" * 4000, "%2e%2e", "..%2f..%2fetc%2fpasswd",
           UNKNOWN_ID + ".part", UNKNOWN_ID + "%2F..%2F..", "%41" * 22, "A" * 21 + "%27", "A" * 20 + "'\"",
           "A" * 21 + ";", "A" * 21 + "%20", "%C3%84" + "A" * 21, "A" * 21 + "*", "A" * 21 + ".",
           "A" * 21 + "%22", "A" * 11 + "%00" + "A" * 11, "A" * 21 + "%0d%0aX-Injected:%201",
           "....%2f%2f....%2f%2fetc%2fpasswd", "%252e%252e%252f"]
ID_ENDPOINTS = [("GET", "/api/exports/%s"), ("GET", "/api/exports/%s/download"), ("HEAD", "/api/exports/%s/download"),
                ("DELETE", "/api/exports/%s"), ("POST", "/api/exports/%s/regenerate")]
# Ids nginx answers itself, by method: a NUL is a bad request; encoded dot segments
# that leave /api/ reach the static root: no file there, and no DELETE on /etc/passwd.
NGINX_STATUS = {"A" * 11 + "%00" + "A" * 11: {"GET": 400, "HEAD": 400, "DELETE": 400, "POST": 400},
                "..%2f..%2fetc%2fpasswd": {"GET": 404, "HEAD": 404, "DELETE": 405, "POST": 404}}


def hostile_cases(max_retention):
    c = [
        # Not JSON at all, or not strict JSON.
        bad_json("empty body", b""),
        bad_json("not JSON", b"not json"),
        bad_json("truncated object", b'{"dataset": "orders"'),
        bad_json("single quotes", b"{'dataset': 'orders'}"),
        bad_json("trailing garbage", b'{"dataset": "orders"} x'),
        bad_json("two documents", b'{"dataset": "orders"}{}'),
        bad_json("trailing comma", b'{"dataset": "orders",}'),
        bad_json("duplicate key", b'{"dataset": "orders", "dataset": "orders"}'),
        bad_json("comment", b'{"dataset": "orders" /* hi */}'),
        # Valid JSON of the wrong shape: the request's shape is wrong, not its syntax.
        Case("array root", 400, "invalid_request", body=b'[{"dataset": "orders"}]'),
        Case("string root", 400, "invalid_request", body=b'"orders"'),
        Case("null root", 400, "invalid_request", body=b"null"),
        Case("number root", 400, "invalid_request", body=b"3"),
        bad_json("NaN", b'{"dataset": "orders", "filters": {"total_cents": NaN}}'),
        bad_json("invalid UTF-8", b'{"dataset": "ord\xff\xfers"}'),
        bad_json("overlong UTF-8 '/'", b'{"dataset": "\xc0\xaf"}'),
        bad_json("UTF-8 surrogate bytes", b'{"dataset": "\xed\xa0\x80"}'),
        bad_json("lone surrogate escape", b'{"dataset": "\\ud800"}'),
        bad_json("nested 20,000 deep", b'{"dataset": "orders", "filters": ' + b"[" * 20000 + b"]" * 20000 + b"}"),
        bad_json("NUL byte outside strings", b'{"dataset": "orders"\x00}'),
        bad_json("raw NUL inside a string", b'{"dataset": "ord\x00ers"}'),
        bad_json("raw newline inside a string", b'{"dataset": "ord\ners"}'),
        # Content types: cross-site form posts and everything not JSON.
        Case("form post", 415, "unsupported_media_type", body=b"dataset=orders",
             ctype="application/x-www-form-urlencoded"),
        Case("multipart form post", 415, "unsupported_media_type", ctype="multipart/form-data; boundary=x",
             body=b'--x\r\nContent-Disposition: form-data; name="dataset"\r\n\r\norders\r\n--x--\r\n'),
        Case("text/plain (a CORS-simple post)", 415, "unsupported_media_type", body=MINIMAL, ctype="text/plain"),
        Case("no Content-Type", 415, "unsupported_media_type", body=MINIMAL, ctype=None),
        Case("charset=iso-8859-1", 415, "unsupported_media_type", body=MINIMAL,
             ctype="application/json; charset=iso-8859-1"),
        Case("application/jsonp", 415, "unsupported_media_type", body=MINIMAL, ctype="application/jsonp"),
        Case("text/json", 415, "unsupported_media_type", body=MINIMAL, ctype="text/json"),
        Case("application/x-json", 415, "unsupported_media_type", body=MINIMAL, ctype="application/x-json"),
        Case("application/json-patch+json", 415, "unsupported_media_type", body=MINIMAL,
             ctype="application/json-patch+json"),
        Case("two media types", 415, "unsupported_media_type", body=MINIMAL, ctype="application/json, text/plain"),
        Case("oversized form post", 415, "unsupported_media_type", body=b"a=" + b"x" * 70000,
             ctype="application/x-www-form-urlencoded"),
        # Sizes.
        Case("body of max_body_bytes + 1", 413, "body_too_large", body=padded_json(65537)),
        Case("body of 900 KB", 413, "body_too_large", body=padded_json(900 * 1024)),
        Case("body of 2 MB (over nginx's client_max_body_size)", 413, NGINX, body=padded_json(2 * 1024 * 1024)),
        # Shape: missing and unknown keys.
        bad_request("missing dataset", {}, "dataset"),
        bad_request("unknown top-level key", orders(owner="alice"), "owner"),
        bad_request("key differing in case", orders(Format="csv"), "Format"),
        bad_request("__proto__ key", orders(__proto__={}), "__proto__"),
        bad_request("unknown filter field", orders({"nope": "x"}), "filters.nope"),
        bad_request("column that is not a filter", orders({"currency": "EUR"}), "filters.currency"),
        bad_request("filter name with SQL", orders({"country = country OR 1": "x"}), "filters.country = country OR 1"),
        bad_request("filter name with a quote", orders({'country"': "DE"}), 'filters.country"'),
        bad_request("filter name with NUL", orders({"country\u0000": "DE"}), "filters.country\u0000"),
        bad_request("unknown key in a date filter", orders({"created_at": {"since": "2025-01-01"}}),
                    "filters.created_at.since"),
        bad_request("unknown key in an integer filter", orders({"total_cents": {"min": 1, "avg": 2}}),
                    "filters.total_cents.avg"),
        bad_request("unknown key next to contains", orders({"customer_email": {"contains": "a", "regex": ".*"}}),
                    "filters.customer_email.regex"),
        # Wrong types.
        bad_request("dataset is a number", {"dataset": 5}, "dataset"),
        bad_request("dataset is null", {"dataset": None}, "dataset"),
        bad_request("dataset is an array", {"dataset": ["orders"]}, "dataset"),
        bad_request("format is a number", orders(format=1), "format"),
        bad_request("format is null", orders(format=None), "format"),
        bad_request("filters is an array", orders([]), "filters"),
        bad_request("filters is a string", orders("country=DE"), "filters"),
        bad_request("filters is null", {"dataset": "orders", "filters": None}, "filters"),
        bad_request("enum is a number", orders({"status": 5}), "filters.status"),
        bad_request("enum list holds a number", orders({"status": [1]}), "filters.status[0]"),
        bad_request("enum list is empty", orders({"status": []}), "filters.status"),
        bad_request("enum with contains", orders({"status": {"contains": "pa"}}), "filters.status"),
        bad_request("enum is null", orders({"status": None}), "filters.status"),
        bad_request("string is a boolean", orders({"country": True}), "filters.country"),
        bad_request("string list holds null", orders({"country": [None]}), "filters.country[0]"),
        bad_request("string list holds a list", orders({"country": ["DE", ["FR"]]}), "filters.country[1]"),
        bad_request("empty object for a string", orders({"country": {}}), "filters.country.contains"),
        bad_request("contains is a number", orders({"country": {"contains": 5}}), "filters.country.contains"),
        bad_request("contains is empty", orders({"country": {"contains": ""}}), "filters.country.contains"),
        bad_request("integer as a string", orders({"total_cents": "100"}), "filters.total_cents"),
        bad_request("integer with a fraction", orders({"total_cents": 1.5}), "filters.total_cents"),
        bad_request("integer in exponent form", orders({"total_cents": 1e3}), "filters.total_cents"),
        bad_request("integer as a list", orders({"total_cents": [1, 2]}), "filters.total_cents"),
        bad_request("integer as a boolean", orders({"total_cents": True}), "filters.total_cents"),
        bad_request("integer range empty", orders({"total_cents": {}}), "filters.total_cents"),
        bad_request("min as a string", orders({"total_cents": {"min": "1"}}), "filters.total_cents.min"),
        bad_request("max as 1.0", orders({"total_cents": {"max": 1.0}}), "filters.total_cents.max"),
        bad_request("integer above int64", orders({"total_cents": 9223372036854775808}), "filters.total_cents"),
        bad_request("integer below int64", orders({"total_cents": -9223372036854775809}), "filters.total_cents"),
        bad_request("date as a plain string", orders({"created_at": "2025-01-01"}), "filters.created_at"),
        bad_request("date range empty", orders({"created_at": {}}), "filters.created_at"),
        bad_request("date as a number", orders({"created_at": {"from": 20250101}}), "filters.created_at.from"),
        bad_request("date is null", orders({"created_at": {"to": None}}), "filters.created_at.to"),
        bad_request("retention as a string", orders(retention_seconds="30"), "retention_seconds"),
        bad_request("retention zero", orders(retention_seconds=0), "retention_seconds"),
        bad_request("retention negative", orders(retention_seconds=-1), "retention_seconds"),
        bad_request("retention with a fraction", orders(retention_seconds=1.5), "retention_seconds"),
        bad_request("retention above the configured one", orders(retention_seconds=max_retention + 1),
                    "retention_seconds"),
        bad_request("retention 2^64 - 1", orders(retention_seconds=18446744073709551615), "retention_seconds"),
        bad_request("retention as a boolean", orders(retention_seconds=True), "retention_seconds"),
        bad_request("retention null", orders(retention_seconds=None), "retention_seconds"),
        # Impossible dates.
        date_from("2025-02-29"), date_from("2024-02-30"), date_from("2025-04-31"), date_from("2025-13-01"),
        date_from("2025-00-10"), date_from("2025-01-00"), date_from("2025-1-1"), date_from("25-01-01"),
        date_from("2025-01-01T24:00:00Z"), date_from("2025-01-01T23:60:00Z"),
        date_from("2025-01-01T23:59:60Z"), date_from("2025-01-01T12:00:00"),
        date_from("2025-01-01T12:00:00+24:00"), date_from("2025-01-01T12:00:00.Z"), date_from("10000-01-01"),
        date_from("0000-01-01T00:00:00+00:01"), date_from("yesterday"), date_from(""),
        date_from("\uff12\uff10\uff12\uff15-01-01"), date_from("2025-01-01\u0000"),
        date_from("2025-01-01' OR '1'='1"), date_from("2025-02-30", "to"),
        # from after to, min above max.
        bad_request("from the day after to", orders({"created_at": {"from": "2025-06-02", "to": "2025-06-01"}}),
                    "filters.created_at.from"),
        bad_request("from one second after to",
                    orders({"created_at": {"from": "2025-06-01T00:00:01Z", "to": "2025-06-01T00:00:00Z"}}),
                    "filters.created_at.from"),
        bad_request("from after to once offsets are applied",
                    orders({"created_at": {"from": "2025-06-01T10:00:00+02:00", "to": "2025-06-01T07:59:59Z"}}),
                    "filters.created_at.from"),
        bad_request("from at the end of a date-only to",
                    orders({"created_at": {"from": "2025-06-02T00:00:00Z", "to": "2025-06-01"}}),
                    "filters.created_at.from"),
        bad_request("min above max", orders({"total_cents": {"min": 5, "max": 4}}), "filters.total_cents.min"),
        # Enum values that are not declared.
        bad_request("undeclared enum value", orders({"status": "lost"}), "filters.status"),
        bad_request("enum value in upper case", orders({"status": "PAID"}), "filters.status"),
        bad_request("enum value with a space", orders({"status": "paid "}), "filters.status"),
        bad_request("empty enum value", orders({"status": ""}), "filters.status"),
        bad_request("enum value with SQL", orders({"status": "paid' OR '1'='1"}), "filters.status"),
        bad_request("enum value with NUL", orders({"status": "paid\u0000"}), "filters.status"),
        bad_request("second enum value undeclared", orders({"status": ["paid", "Paid"]}), "filters.status[1]"),
        # SQL in integer filters (in string filters it is a literal match: see test_sql_injection...).
        bad_request("integer filter with SQL", orders({"total_cents": "1 OR 1=1"}), "filters.total_cents"),
        bad_request("min with SQL", orders({"total_cents": {"min": "0; DROP TABLE orders"}}),
                    "filters.total_cents.min"),
        # NUL in string filters.
        bad_request("NUL in an equals value", orders({"country": "DE\u0000"}), "filters.country"),
        bad_request("NUL in a list value", orders({"country": ["DE", "FR\u0000 OR 1"]}), "filters.country[1]"),
        bad_request("NUL in contains", orders({"customer_email": {"contains": "c\u0000zz"}}),
                    "filters.customer_email.contains"),
        # Datasets and formats.
        Case("unknown dataset", 400, "unknown_dataset", "dataset", body={"dataset": "nope"}),
        Case("dataset in upper case", 400, "unknown_dataset", "dataset", body={"dataset": "ORDERS"}),
        Case("dataset with traversal", 400, "unknown_dataset", "dataset", body={"dataset": "../orders"}),
        Case("dataset with a path", 400, "unknown_dataset", "dataset", body={"dataset": "orders/../orders"}),
        Case("dataset with NUL", 400, "unknown_dataset", "dataset", body={"dataset": "orders\u0000"}),
        Case("dataset with SQL", 400, "unknown_dataset", "dataset", body={"dataset": "orders'--"}),
        Case("dataset with a quote", 400, "unknown_dataset", "dataset", body={"dataset": 'orders"'}),
        Case("empty dataset", 400, "unknown_dataset", "dataset", body={"dataset": ""}),
        Case("format pdf", 400, "unsupported_format", "format", body=orders(format="pdf")),
        Case("format in upper case", 400, "unsupported_format", "format", body=orders(format="CSV")),
        Case("format with NUL", 400, "unsupported_format", "format", body=orders(format="csv\u0000")),
        Case("format with traversal", 400, "unsupported_format", "format", body=orders(format="../csv")),
        Case("format with a command", 400, "unsupported_format", "format", body=orders(format="xlsx; rm -rf /")),
        Case("empty format", 400, "unsupported_format", "format", body=orders(format="")),
        # The list's limit.
        *[Case("list limit=%s" % v, 400, "invalid_request", "limit", method="GET", path="/api/exports?limit=" + v)
          for v in ["0", "501", "-1", "abc", "1e2", "%00", "", "5%00", "99999999999999999999", "0x10", "+5", "5.0"]],
        # Methods and paths.
        Case("PUT on the collection", 405, "method_not_allowed", method="PUT", body=MINIMAL),
        Case("DELETE on the collection", 405, "method_not_allowed", method="DELETE"),
        Case("PATCH on an export", 405, "method_not_allowed", method="PATCH", path="/api/exports/" + UNKNOWN_ID),
        Case("unknown API path", 404, "not_found", method="GET", path="/api/nothing"),
        Case("collection with a trailing slash", 404, "not_found", method="GET", path="/api/exports/"),
        Case("nested unknown path", 404, "not_found", method="GET", path="/api/exports/%s/download/x" % UNKNOWN_ID),
        Case("dot segments leaving /api/", 400, NGINX, method="GET", path="/api/exports/../../../etc/passwd"),
        Case("the export directory through nginx", 404, NGINX, method="GET", path="/_exportd/files/" + UNKNOWN_ID),
        # Bodies of delete and regenerate.
        Case("delete with a form body", 415, "unsupported_media_type", method="DELETE",
             path="/api/exports/" + UNKNOWN_ID, body=b"a=b", ctype="application/x-www-form-urlencoded"),
        Case("regenerate with a form body", 415, "unsupported_media_type", method="POST",
             path="/api/exports/%s/regenerate" % UNKNOWN_ID, body=b"a=b", ctype="application/x-www-form-urlencoded"),
        Case("regenerate with text/plain", 415, "unsupported_media_type", method="POST",
             path="/api/exports/%s/regenerate" % UNKNOWN_ID, body=b"{}", ctype="text/plain"),
        Case("regenerate with invalid JSON", 400, "invalid_json", method="POST",
             path="/api/exports/%s/regenerate" % UNKNOWN_ID, body=b"{"),
        Case("regenerate with an oversized body", 413, "body_too_large", method="POST",
             path="/api/exports/%s/regenerate" % UNKNOWN_ID, body=padded_json(70000)),
        Case("regenerate of an unknown id", 404, "not_found", method="POST",
             path="/api/exports/%s/regenerate" % UNKNOWN_ID),
    ]
    # Ids: malformed, traversal, encoded traversal, overlong, NUL and quotes, on every id endpoint.
    for method, pattern in ID_ENDPOINTS:
        for bad in BAD_IDS + [UNKNOWN_ID, "_" * 32, "-" * 22]:
            status = NGINX_STATUS[bad][method] if bad in NGINX_STATUS else 404
            c.append(Case("%s %s" % (method, pattern % (bad if len(bad) < 40 else bad[:8] + "...(%d)" % len(bad))),
                          status, NGINX if bad in NGINX_STATUS else "not_found", method=method,
                          path=pattern % bad))
    return c


class HostileRequestTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = data_stack("hostile", retention=600, rows=2000).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_every_hostile_request_gets_its_exact_4xx_and_creates_nothing(self):
        client = self.stack.client()
        client.get("/api/health")
        rows = []
        for case in hostile_cases(max_retention=600):
            with self.subTest(case.label):
                before = snapshot(self.stack)
                h = dict(case.headers)
                if case.ctype:
                    h["Content-Type"] = case.ctype
                body = case.body
                if isinstance(body, (dict, list)):
                    body = json.dumps(body).encode()
                r = client.request(case.method, case.path, body=body, headers=h, content_type=None)
                got = None
                if r.status >= 400 and case.method != "HEAD" and case.code is not NGINX:
                    got = r.json()
                rows.append((case.label, r.status, got.get("error") if got else "-",
                             got.get("field", "") if got else ""))
                self.assertEqual(r.status, case.status, "%s: %r" % (case.label, r))
                self.assertLess(r.status, 500)
                self.assertIsNone(r.header("Content-Disposition"), case.label)
                if case.code is not NGINX:
                    self.assertEqual(r.header("Cache-Control"), "no-store", case.label)
                    if case.method != "HEAD":
                        self.assertEqual(r.header("Content-Type"), "application/json", case.label)
                        self.assertEqual(got["error"], case.code, case.label)
                        self.assertIsInstance(got["message"], str)
                        self.assertGreater(len(got["message"]), 10, case.label)
                        if case.field is ABSENT:
                            self.assertNotIn("field", got, case.label)
                        else:
                            self.assertEqual(got.get("field"), case.field, case.label)
                if case.status == 429:
                    self.assertTrue(r.header("Retry-After"))
                self.assertEqual(snapshot(self.stack), before, "%s created something" % case.label)
        if PRINT_TABLE:
            for row in rows:
                print("HOSTILE | %s | %s | %s | %s" % row)
        self.assertEqual(self.stack.procs[0].poll(), None, "exportd still running")

    def test_requests_nginx_never_passes_on_are_4xx_from_exportd_too(self):
        # Straight to exportd's FastCGI socket: what a broken or hostile proxy could send.
        sock = self.stack.socket()
        before = snapshot(self.stack)
        cases = [
            ("NUL in the path, then traversal", "GET", "/api/exports/" + UNKNOWN_ID + "\u0000/../../etc/passwd",
             b"", {}, {}, 404, "not_found"),
            ("unnormalised traversal", "GET", "/api/exports/../../../etc/passwd", b"", {}, {}, 404, "not_found"),
            ("traversal after an id", "GET", "/api/exports/%s/../../x" % UNKNOWN_ID, b"", {}, {}, 404, "not_found"),
            ("CR LF in the method", "GET\r\nX-Injected: 1", "/api/exports", b"", {}, {}, 405,
             "method_not_allowed"),
            ("empty method and path", "", "", b"", {}, {}, 404, "not_found"),
            ("CR LF in the path", "GET", "/api/exports/%s\r\nX-Injected: 1" % UNKNOWN_ID, b"", {}, {}, 404,
             "not_found"),
            ("Content-Length far above the body", "POST", "/api/exports", b'{"dataset":"orders"}',
             {"Content-Type": JSON_CT}, {"CONTENT_LENGTH": "99999999999999999999"}, 413, "body_too_large"),
            ("Content-Length below the body", "POST", "/api/exports", b'{"dataset":"orders"}',
             {"Content-Type": JSON_CT}, {"CONTENT_LENGTH": "5"}, 400, "invalid_json"),
            ("negative Content-Length", "POST", "/api/exports", b'{"dataset":"orders"}',
             {"Content-Type": JSON_CT}, {"CONTENT_LENGTH": "-20"}, 400, "invalid_json"),
            ("Content-Length not a number", "POST", "/api/exports", b'{"dataset":"orders"}',
             {"Content-Type": JSON_CT}, {"CONTENT_LENGTH": "twenty"}, 400, "invalid_json"),
            ("cookie with traversal", "GET", "/api/exports", b"", {"Cookie": "exportd_session=../../registry.db"},
             {}, 200, None),
        ]
        for label, method, uri, body, headers, params, status, code in cases:
            with self.subTest(label):
                r = fcgi_client.request(sock, method, uri, body=body, headers=headers, params=params)
                self.assertEqual(r.status, status, "%s: %r" % (label, r))
                if code:
                    self.assertEqual(r.json()["error"], code, label)
                for name, _ in r.headers:
                    self.assertNotEqual(name.lower(), "x-injected", label)
                if PRINT_TABLE:
                    print("FASTCGI | %s | %d | %s" % (label, r.status, code or "-"))
        self.assertEqual(snapshot(self.stack), before)
        self.assertEqual(self.stack.procs[0].poll(), None, "exportd still running")

    def test_malformed_ids_never_reach_the_disk_or_the_registry(self):
        # strace the request threads while they answer malformed ids: no file
        # system call and no touch of the registry or the export directory. The
        # same run with a well-formed id shows the registry being read, so the
        # method does see such accesses.
        if os.geteuid() != 0 or not shutil.which("strace"):
            self.skipTest("needs root and strace")
        pid = self.stack.procs[0].pid
        malformed = [b for b in BAD_IDS if "%00" not in b and len(b) < 1000]
        traced = self.trace(pid, lambda c: [c.request(m, p % bad) for m, p in ID_ENDPOINTS for bad in malformed])
        answered = [l for l in traced if re.search(r"\bwrite\(\d+<(socket|UNIX)", l)]
        self.assertGreaterEqual(len(answered), 10 * len(ID_ENDPOINTS), "the trace saw the answers")
        # -y names every file descriptor's path: the data directory may appear only
        # for the socket and the log in run/.
        touched = [l for l in traced if (self.stack.dir in l and "/run/" not in l)
                   or re.search(r"\b(unlink|unlinkat|rename|renameat|statfs|mkdir)\(", l)]
        self.assertEqual(touched, [], "request threads touched files for malformed ids")
        control = self.trace(pid, lambda c: [c.get("/api/exports/" + UNKNOWN_ID) for _ in range(3)])
        self.assertTrue([l for l in control if "registry.db" in l],
                        "the trace sees registry access for a well-formed id:\n" + "\n".join(control[:20]))

    def trace(self, pid, action):
        # The request threads are the ones waiting in accept() (syscall 43) or accept4() (288).
        def in_accept(t):
            with open("/proc/%d/task/%s/syscall" % (pid, t)) as f:
                return f.read().split(" ")[0] in ("43", "288")
        tids = {t for t in os.listdir("/proc/%d/task" % pid) if in_accept(t)}
        self.assertGreaterEqual(len(tids), 2, "request threads waiting in accept()")
        out = os.path.join(self.stack.run_dir, "strace.txt")
        args = ["strace", "-y", "-qq", "-s", "200", "-o", out] + sum([["-p", t] for t in sorted(tids)], [])
        tracer = subprocess.Popen(args, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: os.path.exists(out) and self._attached(tids), 15, what="strace to attach")
            action(self.stack.client())
        finally:
            tracer.send_signal(signal.SIGINT)
            tracer.wait(timeout=30)
        with open(out) as f:
            return [l.rstrip("\n") for l in f]

    def _attached(self, tids):
        for t in tids:
            with open("/proc/%s/status" % t) as f:
                if not re.search(r"^TracerPid:\s*[1-9]", f.read(), re.M):
                    return False
        return True


class DataAndFilesTest(unittest.TestCase):
    """Literal matching of hostile values, formula injection, ids, file modes, names."""

    @classmethod
    def setUpClass(cls):
        cls.stack = data_stack("data", retention=600, rows=2000).start()
        cls.c = cls.stack.client()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def ready(self, body):
        r = self.c.create(body)
        self.assertIn(r.status, (200, 202), r)
        return self.c.wait_status(r.json()["id"], {"ready"}, timeout=60)

    def download(self, ready):
        d = self.c.get(ready["links"]["download"])
        self.assertEqual(d.status, 200, d)
        return d

    def ndjson_ids(self, body):
        ready = self.ready(dict(body, format="ndjson"))
        lines = self.download(ready).body.decode().splitlines()
        self.assertEqual(len(lines), ready["file"]["rows"])
        return [json.loads(l)["id"] for l in lines]

    def test_sql_injection_quotes_percent_and_underscore_match_literally(self):
        def contains(text):
            return [n[0] for n in NOTES if text.lower() in n[2].lower()]

        def equals(*values):
            return [n[0] for n in NOTES if n[2] in values]
        cases = [
            ({"label": "DE' OR '1'='1"}, equals("DE' OR '1'='1")),
            ({"label": ["' OR 1=1 --", "Robert'); DROP TABLE notes;--"]},
             equals("' OR 1=1 --", "Robert'); DROP TABLE notes;--")),
            ({"label": "O'Brien"}, equals("O'Brien")),
            ({"label": 'say "hi"'}, equals('say "hi"')),
            ({"label": "100%"}, equals("100%")),
            ({"label": "a%"}, []),
            ({"label": "_"}, equals("_")),
            ({"label": {"contains": "' OR 1=1 --"}}, contains("' OR 1=1 --")),
            ({"label": {"contains": "' OR ''='"}}, []),
            ({"label": {"contains": "'"}}, contains("'")),
            ({"label": {"contains": '"'}}, contains('"')),
            ({"label": {"contains": "%"}}, contains("%")),
            ({"label": {"contains": "_"}}, contains("_")),
            ({"label": {"contains": "a_b"}}, contains("a_b")),
            ({"label": {"contains": "100%"}}, contains("100%")),
            ({"label": {"contains": "\\"}}, contains("\\")),
            ({"label": {"contains": "%%"}}, []),
            ({"label": {"contains": "mixed case"}}, contains("mixed case")),
            ({"label": {"contains": "%"}, "kind": "b"}, [n[0] for n in NOTES if "%" in n[2] and n[1] == "b"]),
            # After the last storable instant: nothing (year 10000 as text once sorted first).
            ({"created_at": {"from": "9999-12-31T23:59:59.5Z"}}, []),
        ]
        for filters, expected in cases:
            with self.subTest(filters=filters):
                self.assertTrue(expected or filters in ({"label": "a%"}, {"label": {"contains": "' OR ''='"}},
                                                        {"label": {"contains": "%%"}},
                                                        {"created_at": {"from": "9999-12-31T23:59:59.5Z"}}),
                                "fixture covers the case")
                got = self.ndjson_ids({"dataset": "notes", "filters": filters})
                self.assertEqual(got, sorted(expected), filters)
                if PRINT_TABLE:
                    print("LITERAL | %s | %d rows" % (json.dumps(filters), len(got)))
        self.assertEqual(self.stack.sqlite_count(), 2000, "orders intact")
        db = sqlite3.connect(os.path.join(self.stack.dir, "notes.db"))
        self.assertEqual(db.execute("SELECT count(*) FROM notes").fetchone()[0], len(NOTES), "notes intact")
        db.close()
        # On the demo dataset too.
        for filters, where in [({"country": "DE' OR '1'='1"}, "0"),
                               ({"customer_email": {"contains": "' OR ''='"}}, "0"),
                               ({"country": ["DE", "x') OR ('1'='1"]}, "country = 'DE'"),
                               ({"customer_email": {"contains": "%"}}, "0"),
                               ({"customer_email": {"contains": "_"}}, "instr(customer_email, '_') > 0")]:
            with self.subTest(filters=filters):
                ready = self.ready({"dataset": "orders", "filters": filters})
                self.assertEqual(ready["file"]["rows"], self.stack.sqlite_count(where), filters)

    def test_csv_formula_injection_is_neutralised_unless_the_dataset_turns_it_off(self):
        guarded = list(csv.reader(io.StringIO(self.download(self.ready({"dataset": "notes"})).body.decode(),
                                              newline="")))
        raw = list(csv.reader(io.StringIO(self.download(self.ready({"dataset": "notes_raw"})).body.decode(),
                                          newline="")))
        self.assertEqual(guarded[0], ["id", "kind", "label", "amount", "created_at"])
        self.assertEqual(len(guarded), len(NOTES) + 1)
        for (nid, _, label, amount, _), g, r in zip(NOTES, guarded[1:], raw[1:]):
            with self.subTest(label=label):
                self.assertEqual(g[2], guarded_label(label))
                self.assertEqual(r[2], label, "csv_formula_guard false: raw")
                self.assertEqual(g[3], str(amount), "numbers stay numbers, even negative ones")
        body = self.download(self.ready({"dataset": "notes"})).body.decode()
        self.assertIn('"x;\'=cmd|\' /C calc\'!A0"', body, "a field holding ; is quoted, the cell after it guarded")
        self.assertIn('"x\t\'=cmd|\' /C calc\'!A0"', body, "a field holding a TAB is quoted, the cell after it guarded")
        # Read as a spreadsheet whose list separator is `;` (or TAB) reads it: no cell is a formula.
        for sep in (";", "\t"):
            for row in csv.reader(io.StringIO(body, newline=""), delimiter=sep):
                for cell in row:
                    self.assertNotIn(cell[:1], ("=", "+", "@"), "separator %r: %r" % (sep, row))
                    self.assertFalse(cell[:1] == "-" and not cell[1:2].isdigit(), "separator %r: %r" % (sep, row))
        names = {n[2]: g[2] for n, g in zip(NOTES, guarded[1:])}
        self.assertEqual(names["Anna =Formula"], "Anna =Formula", "only a leading character counts")
        self.assertEqual(names['=HYPERLINK("http://evil.example/?a=1,b","click")'],
                         '\'=HYPERLINK("http://evil.example/?a=1,b","click")')
        # NDJSON is data, not a spreadsheet: values as stored.
        lines = self.download(self.ready({"dataset": "notes", "format": "ndjson"})).body.decode().splitlines()
        self.assertEqual([json.loads(l)["label"] for l in lines], [n[2] for n in NOTES])

    def test_ids_are_url_safe_unique_and_carry_128_random_bits(self):
        ids = []
        for i in range(32):
            r = self.c.create({"dataset": "notes", "filters": {"amount": i}})
            self.assertEqual(r.status, 202, r)
            ids.append(r.json()["id"])
            self.assertEqual(self.c.request("DELETE", "/api/exports/" + ids[-1]).status, 200)
        self.assertEqual(len(set(ids)), len(ids), "never reused")
        bits = []
        for eid in ids:
            self.assertRegex(eid, ID_RE)
            raw = base64.urlsafe_b64decode(eid + "=" * (-len(eid) % 4))
            self.assertGreaterEqual(len(raw) * 8, 128, eid)
            bits.append(int.from_bytes(raw[:16], "big"))
        # Not a counter, a clock or a hash of the request: every one of the 128
        # bits takes both values across 32 ids (chance of a false alarm ~2^-24).
        stuck = [b for b in range(128) if len({(x >> b) & 1 for x in bits}) == 1]
        self.assertEqual(stuck, [], "bits that never change")
        self.assertEqual(self.c.get("/api/exports/" + ids[0]).json()["status"], "deleted")

    def test_files_are_0640_group_file_group_in_a_0750_directory_named_by_id(self):
        ready = self.ready({"dataset": "notes", "filters": {"label": {"contains": "../"}}})
        group = self.stack.group
        gid = grp.getgrnam(group).gr_gid
        d = os.stat(self.stack.exports_dir)
        self.assertEqual(d.st_mode & 0o7777, 0o750, "exports_dir mode")
        self.assertEqual(d.st_gid, gid, "exports_dir group")
        path = os.path.join(self.stack.exports_dir, ready["id"])
        st = os.lstat(path)
        self.assertTrue(os.path.isfile(path) and not os.path.islink(path))
        self.assertEqual(st.st_mode & 0o7777, 0o640, "file mode")
        self.assertEqual(st.st_gid, gid, "file group")
        for name in self.stack.export_files():
            self.assertRegex(name, ID_RE, "every file is named by an id only")
        # Nothing exportd creates is readable by others (umask 027).
        for name in os.listdir(self.stack.dir):
            if name.startswith("registry.db"):
                self.assertEqual(os.stat(os.path.join(self.stack.dir, name)).st_mode & 0o007, 0, name)
        sock = os.stat(self.stack.socket())
        self.assertEqual((sock.st_mode & 0o777, sock.st_gid), (0o660, gid), "socket")
        if os.geteuid() == 0:
            # Readable by nginx's workers' group, by no one else.
            def cat_as(user, group_name):
                return subprocess.run(["setpriv", "--reuid=" + user, "--regid=" + group_name, "--clear-groups",
                                       "cat", path], capture_output=True).returncode
            self.assertEqual(cat_as("nobody", "nogroup"), 1, "others cannot read")
            www = pwd.getpwnam("www-data")
            self.assertEqual(cat_as(str(www.pw_uid), group), 0, "the file_group can read")

    def test_file_location_is_internal_and_names_come_from_dataset_and_time(self):
        ready = self.ready({"dataset": "notes", "filters": {"label": "x\"; filename=\"evil.sh"}})
        for path in ["/_exportd/files/" + ready["id"], "/_exportd/files/", "/_exportd/files/../exports/" + ready["id"],
                     "/_exportd/files/%2e%2e/" + ready["id"], "/_exportd/files//" + ready["id"]]:
            r = self.c.get(path)
            self.assertEqual(r.status, 404, path)
            self.assertNotIn(b"label", r.body, "no byte of the file: " + path)
            self.assertIsNone(r.header("Content-Disposition"), path)
        # A client's X-Accel-Redirect header is just a header.
        r = self.c.get("/api/exports/" + UNKNOWN_ID, headers={"X-Accel-Redirect": "/_exportd/files/" + ready["id"]})
        self.assertEqual(r.status, 404)
        d = self.download(ready)
        self.assertRegex(ready["file"]["name"], r"^notes-\d{8}T\d{6}Z\.csv$")
        self.assertEqual(d.header("Content-Disposition"), 'attachment; filename="%s"' % ready["file"]["name"])
        self.assertEqual(d.header("X-Content-Type-Options"), "nosniff")
        stamp = ready["file"]["name"][len("notes-"):-len(".csv")]
        made = ready["created_at"][:19].replace("-", "").replace(":", "") + "Z"
        ready_at = ready["ready_at"][:19].replace("-", "").replace(":", "") + "Z"
        self.assertTrue(made <= stamp <= ready_at, "the name's time is the export's: %s" % stamp)

    def test_json_with_charset_and_a_body_of_exactly_max_body_bytes_are_accepted(self):
        for ctype in ["application/json; charset=utf-8", "Application/JSON;Charset=UTF-8",
                      'application/json; charset="utf-8"']:
            with self.subTest(ctype):
                r = self.c.post("/api/exports", body={"dataset": "notes", "filters": {"kind": "a"}},
                                headers={"Content-Type": ctype})
                self.assertIn(r.status, (200, 202), r)
                self.c.wait_status(r.json()["id"], {"ready"})
        r = self.c.post("/api/exports", body=padded_json(65536))
        self.assertEqual(r.status, 202, r)
        self.c.wait_status(r.json()["id"], {"ready"})

    def test_filter_values_never_reach_the_log(self):
        secret = "s3cr3t-%d@example.org" % os.getpid()
        self.ready({"dataset": "notes", "filters": {"label": {"contains": secret}}})
        self.c.create({"dataset": "notes", "filters": {"label": [secret, 5]}})       # refused
        self.assertNotIn(secret, self.stack.log(), "logs show filter keys, never values")


class LimitsTest(unittest.TestCase):
    """max_active_exports_per_owner, quota_bytes, min_free_bytes and max_rows, each on its own stack."""

    def test_429_with_retry_after_and_the_double_click_answer_comes_first(self):
        stack = data_stack("limit", retention=600, rows=20000,
                           config={"max_active_exports_per_owner": 2, "export_rows_per_second": 1000}).start()
        c = stack.client()
        ids = []
        try:
            c.get("/api/datasets")                     # take a session cookie first (health gives none)
            first = c.create({"dataset": "orders", "filters": {"country": "DE", "status": ["paid", "shipped", "paid"]}})
            self.assertEqual(first.status, 202, first)
            ids.append(first.json()["id"])
            second = c.create({"dataset": "orders", "format": "ndjson"})
            self.assertEqual(second.status, 202, second)
            ids.append(second.json()["id"])
            for eid in ids:
                c.wait_status(eid, {"running"})
            wait_until(lambda: len(stack.export_files()) == 2, 30, what="both .part files")
            before = snapshot(stack)
            refused = c.create({"dataset": "orders", "format": "xlsx"})
            self.assertEqual(refused.status, 429, refused)
            self.assertEqual(refused.json()["error"], "too_many_exports")
            self.assertRegex(refused.header("Retry-After") or "", r"^[1-9][0-9]*$")
            self.assertEqual(snapshot(stack), before, "a refused request creates nothing")
            # The same request in another canonical spelling: 200 with the first, though at the limit.
            again = c.create({"dataset": "orders", "format": "csv", "retention_seconds": 600,
                              "filters": {"status": ["shipped", "paid"], "country": ["DE"]}})
            self.assertEqual(again.status, 200, again)
            self.assertEqual(again.json()["id"], ids[0])
            self.assertEqual(again.header("Location"), "/api/exports/" + ids[0])
            self.assertIn(again.json()["status"], ("queued", "running"))
            self.assertEqual(snapshot(stack)[0], before[0], "the double click created nothing")
            # A shorter retention is another request.
            other = c.create({"dataset": "orders", "retention_seconds": 30,
                              "filters": {"status": ["shipped", "paid"], "country": "DE"}})
            self.assertEqual(other.status, 429, other)
            # Another browser has its own limit.
            stranger = stack.client()
            stranger.get("/api/health")
            s = stranger.create({"dataset": "orders", "format": "xlsx"})
            self.assertEqual(s.status, 202, s)
            stranger.request("DELETE", "/api/exports/" + s.json()["id"])
            # Ending one frees a slot.
            self.assertEqual(c.request("DELETE", "/api/exports/" + ids[1]).status, 200)
            third = c.create({"dataset": "orders", "format": "xlsx"})
            self.assertEqual(third.status, 202, third)
            ids.append(third.json()["id"])
        finally:
            for eid in ids:
                c.request("DELETE", "/api/exports/" + eid)
            stack.stop()

    def test_quota_bytes_reached_is_507_and_creates_nothing(self):
        stack = data_stack("quota", retention=600, rows=2000, config={"quota_bytes": 4096}).start()
        try:
            c = stack.client()
            r = c.create({"dataset": "orders", "filters": {"country": "DE"}})
            self.assertEqual(r.status, 202, r)
            ready = c.wait_status(r.json()["id"], {"ready"})
            self.assertGreater(ready["file"]["size_bytes"], 4096)
            before = snapshot(stack)
            for body in ({"dataset": "notes"}, {"dataset": "orders", "format": "ndjson"}):
                full = c.create(body)
                self.assertEqual(full.status, 507, full)
                self.assertEqual(full.json()["error"], "insufficient_storage")
                self.assertEqual(snapshot(stack), before, "a refused request creates nothing")
            regen = c.post("/api/exports/%s/regenerate" % ready["id"])
            self.assertEqual((regen.status, regen.json()["error"]), (507, "insufficient_storage"))
            self.assertEqual(snapshot(stack), before)
            c.request("DELETE", "/api/exports/" + ready["id"])
            again = c.create({"dataset": "notes"})
            self.assertEqual(again.status, 202, "space again once the file is gone: %r" % again)
        finally:
            stack.stop()

    def test_nearly_full_disk_is_507_and_creates_nothing(self):
        stack = data_stack("diskfull", retention=600, rows=2000, config={"min_free_bytes": 2 ** 62}).start()
        try:
            c = stack.client()
            before = snapshot(stack)
            r = c.create({"dataset": "notes"})
            self.assertEqual(r.status, 507, r)
            self.assertEqual(r.json()["error"], "insufficient_storage")
            self.assertEqual(r.header("Cache-Control"), "no-store")
            self.assertEqual(snapshot(stack), before)
            self.assertEqual(c.get("/api/health").status, 200, "still healthy: reading works")
        finally:
            stack.stop()

    def test_max_rows_fails_the_export_and_leaves_no_file(self):
        stack = data_stack("maxrows", retention=600, rows=2000, config={"max_rows": len(NOTES)}).start()
        try:
            c = stack.client()
            r = c.create({"dataset": "notes"})
            at_limit = c.wait_status(r.json()["id"], {"ready", "failed"})
            self.assertEqual(at_limit["status"], "ready", "exactly max_rows rows is fine")
            self.assertEqual(at_limit["file"]["rows"], len(NOTES))
            for fmt in ("csv", "ndjson", "xlsx"):
                r = c.create({"dataset": "orders", "format": fmt})
                self.assertEqual(r.status, 202, r)
                failed = c.wait_status(r.json()["id"], {"failed", "ready"})
                self.assertEqual(failed["status"], "failed", fmt)
                self.assertEqual(failed["error"]["code"], "too_many_rows", fmt)
                self.assertNotIn(r.json()["id"], stack.export_files())
                self.assertNotIn(r.json()["id"] + ".part", stack.export_files())
                d = c.get("/api/exports/%s/download" % r.json()["id"])
                self.assertEqual((d.status, d.json()["error"]), (409, "export_failed"))
            self.assertEqual(stack.export_files(), [at_limit["id"]])
        finally:
            stack.stop()


class ForeignFilesTest(unittest.TestCase):
    """The sweeper deletes only regular files named as exportd names them (issue 12, item 6)."""

    ORPHAN = "ZyXwVuTsRqPoNmLkJiHgFw"            # a minted id nobody knows: deleted
    FOREIGN = "Quarterly_Report_2026_v2"         # a valid API id (22-32), not a minted one
    LINK = "AbCdEfGhIjKlMnOpQrStUA"               # minted names, but not regular files
    PART_LINK = "LinkPartLinkPartLinkPQ.part"
    DIRECTORY = "DirectoryDirectoryDirg"

    def last_sweep(self, stack):
        return metric_value(stack.metrics(), "exportd_last_sweep_timestamp_seconds")

    def test_sweeps_leave_foreign_files_links_and_directories_alone(self):
        stack = Stack(name="foreign", sweep=1).start()
        try:
            d = stack.exports_dir
            wait_until(lambda: os.path.isdir(d), 10, what="exports_dir")
            outside = os.path.join(stack.dir, "outside.txt")
            with open(outside, "w") as f:
                f.write("precious")
            for name in (self.ORPHAN, self.FOREIGN):
                with open(os.path.join(d, name), "w") as f:
                    f.write("a,b\r\n")
            os.symlink(outside, os.path.join(d, self.LINK))
            os.symlink(outside, os.path.join(d, self.PART_LINK))
            os.mkdir(os.path.join(d, self.DIRECTORY))
            # Two sweeps that started after the files were there: wait for the
            # last-sweep time to advance twice rather than sleeping.
            first = self.last_sweep(stack)
            second = wait_until(lambda: (lambda v: v if v > first else None)(self.last_sweep(stack)),
                                stack.sweep * 10 + 5, what="a sweep")
            wait_until(lambda: self.last_sweep(stack) > second, stack.sweep * 10 + 5, what="a second sweep")
            files = stack.export_files()
            self.assertNotIn(self.ORPHAN, files, "the sweeps ran: exportd's own orphan is deleted")
            self.assertIn(self.FOREIGN, files, "a file exportd did not name is kept")
            for name in (self.LINK, self.PART_LINK):
                self.assertTrue(os.path.islink(os.path.join(d, name)), "the symlink %s is kept" % name)
            with open(outside) as f:
                self.assertEqual(f.read(), "precious", "the link's target is untouched")
            self.assertTrue(os.path.isdir(os.path.join(d, self.DIRECTORY)))
            m = stack.metrics()
            self.assertEqual(metric_value(m, "exportd_cleanup_failures_total"), 0, "no error counted")
            self.assertEqual(metric_value(m, "exportd_files_deleted_total", 'reason="orphan"'), 1)
            self.assertNotIn("cannot delete", stack.log())
        finally:
            stack.stop()


class StalledClientsTest(unittest.TestCase):
    """Clients of the FastCGI socket that connect and stall hold a request thread
    for at most request_read_timeout_seconds (issue 12, item 7)."""

    TIMEOUT = 5      # the default request_read_timeout_seconds
    MARGIN = 3

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(name="stall").start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def health(self, timeout):
        """(status or None, seconds taken) of GET /api/health through nginx."""
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.stack.port, timeout=timeout)
        try:
            conn.request("GET", "/api/health")
            r = conn.getresponse()
            r.read()
            return r.status, time.monotonic() - started
        except OSError:
            return None, time.monotonic() - started
        finally:
            conn.close()

    def connect(self, first_bytes):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.stack.socket())
        s.sendall(first_bytes)
        return s

    def assert_service_answers(self, socks):
        status, took = self.health(self.TIMEOUT + self.MARGIN)
        self.assertEqual(status, 200, "/api/health unanswered after %.1f s with %d stalled connections"
                         % (took, len(socks)))
        self.assertLess(took, self.TIMEOUT + self.MARGIN)
        self.assertIsNone(self.stack.procs[0].poll(), "exportd is still running")
        # exportd gave up on the stalled connections: each sees its end.
        for s in socks:
            s.settimeout(self.TIMEOUT + self.MARGIN)
            try:
                self.assertEqual(s.recv(1024), b"", "connection closed by exportd")
            except ConnectionResetError:
                pass

    def test_connections_that_send_one_byte_and_stall(self):
        threads = int(self.stack.props.get("request_threads", 8))
        socks = [self.connect(b"\x01") for _ in range(threads + 2)]
        try:
            self.assert_service_answers(socks)
        finally:
            for s in socks:
                s.close()

    def test_connections_that_trickle_a_valid_request(self):
        # A byte every half second: each read returns in time, the request never
        # ends. Only a deadline for the whole request frees the thread.
        params = fcgi_client._pairs({"REQUEST_METHOD": "GET", "REQUEST_URI": "/api/health",
                                     "X_PADDING": "p" * 200})
        message = (fcgi_client._record(fcgi_client.BEGIN_REQUEST, struct.pack(">HB5x", fcgi_client.RESPONDER, 0))
                   + fcgi_client._record(fcgi_client.PARAMS, params))
        threads = int(self.stack.props.get("request_threads", 8))
        socks = [self.connect(message[:1]) for _ in range(threads + 2)]
        done = threading.Event()

        def trickle():
            live = list(socks)
            for i in range(1, len(message)):
                for s in list(live):
                    try:
                        s.send(message[i:i + 1])
                    except OSError:
                        live.remove(s)
                if done.wait(0.5) or not live:
                    return
        t = threading.Thread(target=trickle, daemon=True)
        t.start()
        try:
            self.assert_service_answers(socks)
        finally:
            done.set()
            t.join()
            for s in socks:
                s.close()


if __name__ == "__main__":
    unittest.main()
