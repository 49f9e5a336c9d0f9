"""End to end through nginx and exportd: request, poll, download, expire (issue: core)."""
import csv
import io
import json
import os
import time
import unittest

from harness import (DELETED_SENTENCE, EXPIRED_SENTENCE, Stack, metric_value, sha256, wait_until)

FILTERS = {"status": ["shipped", "paid"], "country": "DE",
           "created_at": {"from": "2025-01-01", "to": "2025-06-30"},
           "total_cents": {"min": 1000, "max": 50000},
           "customer_email": {"contains": "example.org"}}
SQL_WHERE = ("status IN ('shipped','paid') AND country = 'DE' "
             "AND created_at >= '2025-01-01T00:00:00Z' AND created_at < '2025-07-01T00:00:00Z' "
             "AND total_cents BETWEEN 1000 AND 50000 AND lower(customer_email) LIKE '%example.org%'")


class CoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(retention=2, sweep=1, rows=20000, name="core",
                          config={"export_rows_per_second": 20000}).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        self.c = self.stack.client()

    def ready_export(self, body):
        r = self.c.create(body)
        self.assertEqual(r.status, 202, r)
        return self.c.wait_status(r.json()["id"], {"ready"}, timeout=30)

    def test_datasets_lists_orders_with_formats_and_filters(self):
        r = self.c.get("/api/datasets")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        ds = {d["name"]: d for d in r.json()["datasets"]}
        self.assertIn("orders", ds)
        self.assertEqual(ds["orders"]["formats"], ["csv", "ndjson", "xlsx"])
        self.assertEqual([f["field"] for f in ds["orders"]["filters"]],
                         ["status", "country", "customer_email", "created_at", "total_cents"],
                         "filters in the order datasets.json declares them")
        fields = {f["field"]: f for f in ds["orders"]["filters"]}
        self.assertEqual(fields["status"]["type"], "enum")
        self.assertIn("shipped", fields["status"]["values"])
        self.assertEqual(fields["created_at"]["type"], "date")
        self.assertIn("customer_email", ds["orders"]["columns"])

    def test_seed_scenario_download_then_expiry(self):
        r = self.c.create(dict(dataset="orders", format="csv", filters=FILTERS))
        self.assertEqual(r.status, 202, r)
        created = r.json()
        self.assertEqual(r.header("Location"), "/api/exports/" + created["id"], "Location header")
        self.assertIn(created["status"], ("queued", "running"))
        self.assertEqual(created["filters"], FILTERS, "filters echoed as sent")
        self.assertEqual(created["links"]["download"], "/api/exports/%s/download" % created["id"])

        ready = self.c.wait_status(created["id"], {"ready"})
        d = self.c.get(ready["links"]["download"])
        self.assertEqual(d.status, 200, d)
        self.assertEqual(d.header("Content-Type"), "text/csv; charset=utf-8")
        self.assertEqual(d.header("Content-Disposition"), 'attachment; filename="%s"' % ready["file"]["name"])
        self.assertRegex(ready["file"]["name"], r"^orders-\d{8}T\d{6}Z\.csv$")
        self.assertEqual(d.header_all("Cache-Control"), ["no-store"])
        self.assertEqual(d.header("X-Content-Type-Options"), "nosniff")
        self.assertIsNone(d.header("ETag"), "no ETag on downloads")
        self.assertEqual(int(d.header("Content-Length")), len(d.body))
        self.assertEqual(len(d.body), ready["file"]["size_bytes"], "size_bytes")
        self.assertEqual(sha256(d.body), ready["file"]["sha256"], "sha256 of the bytes")
        rows = list(csv.reader(io.StringIO(d.body.decode("utf-8"), newline="")))
        expected = self.stack.sqlite_count(SQL_WHERE)
        self.assertGreater(expected, 10, "the filter selects something")
        self.assertEqual(len(rows) - 1, expected, "rows equal what sqlite3 counts")
        self.assertEqual(ready["file"]["rows"], expected, "file.rows")
        self.assertTrue(d.body.endswith(b"\r\n"), "CRLF line ends")
        self.assertEqual(rows[0], ["id", "created_at", "customer_email", "customer_name", "country",
                                   "status", "total_cents", "currency"])
        self.assertIn(ready["id"], self.stack.export_files())
        again = self.c.get("/api/exports/" + ready["id"]).json()
        self.assertEqual(again["download_count"], 1, "one GET download counted")
        self.assertLessEqual(again["expires_in_seconds"], 2)

        # Past expiry: both endpoints say expired, and the file is gone.
        expires_at = ready["expires_at"]
        gone = wait_until(lambda: (lambda x: x if x.status == 410 else None)(self.c.get(ready["links"]["download"])),
                          15, what="download to answer 410")
        body = gone.json()
        self.assertEqual(body["error"], "export_expired")
        self.assertEqual(body["message"], EXPIRED_SENTENCE)
        self.assertEqual(body["expired_at"], expires_at)
        self.assertEqual(body["links"]["regenerate"], "/api/exports/%s/regenerate" % ready["id"])
        self.assertIsNone(gone.header("Content-Disposition"))
        status = wait_until(lambda: (lambda s: s if s.get("file_deleted_at") else None)(
            self.c.get("/api/exports/" + ready["id"]).json()), 10, what="file_deleted_at")
        self.assertEqual(status["status"], "expired")
        self.assertEqual(status["message"], EXPIRED_SENTENCE)
        self.assertEqual(status["expired_at"], expires_at)
        self.assertEqual(status["expires_in_seconds"], 0)
        self.assertNotIn(ready["id"], self.stack.export_files(), "file removed from the export directory")

    def test_ndjson_rows_are_objects_with_typed_numbers(self):
        ready = self.ready_export(dict(dataset="orders", format="ndjson", filters={"country": ["FR"], "status": "refunded"}))
        d = self.c.get(ready["links"]["download"])
        self.assertEqual(d.status, 200, d)
        self.assertEqual(d.header("Content-Type"), "application/x-ndjson")
        lines = d.body.decode().splitlines()
        self.assertEqual(len(lines), self.stack.sqlite_count("country='FR' AND status='refunded'"))
        first = json.loads(lines[0])
        self.assertIsInstance(first["id"], int)
        self.assertIsInstance(first["total_cents"], int)
        self.assertEqual(first["country"], "FR")
        self.assertEqual(sha256(d.body), ready["file"]["sha256"])

    def test_xlsx_sheet_has_header_typed_cells_and_every_row(self):
        import re
        import zipfile
        ready = self.ready_export(dict(dataset="orders", format="xlsx", filters={"country": "GB", "status": "paid"}))
        d = self.c.get(ready["links"]["download"])
        self.assertEqual(d.status, 200, d)
        self.assertEqual(d.header("Content-Type"),
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        self.assertTrue(ready["file"]["name"].endswith(".xlsx"))
        self.assertEqual(sha256(d.body), ready["file"]["sha256"])
        sheet = zipfile.ZipFile(io.BytesIO(d.body)).read("xl/worksheets/sheet1.xml").decode()
        expected = self.stack.sqlite_count("country='GB' AND status='paid'")
        self.assertEqual(len(re.findall(r"<row ", sheet)), expected + 1, "header + every data row")
        self.assertIn('<pane ySplit="1"', sheet, "frozen header row")
        self.assertRegex(sheet, r'<c r="A2"[^>]*><v>\d+</v></c>', "id written as a number")

    def test_head_and_range_downloads(self):
        ready = self.ready_export(dict(dataset="orders", filters={"country": "NL", "status": "pending"}))
        h = self.c.request("HEAD", ready["links"]["download"])
        self.assertEqual(h.status, 200)
        self.assertEqual(int(h.header("Content-Length")), ready["file"]["size_bytes"])
        r = self.c.get(ready["links"]["download"], headers={"Range": "bytes=0-9"})
        self.assertEqual(r.status, 206, r)
        self.assertEqual(len(r.body), 10)
        self.assertEqual(r.body, b"id,created")
        st = self.c.get("/api/exports/" + ready["id"]).json()
        self.assertEqual(st["download_count"], 1, "HEAD does not count, the ranged GET does")

    def test_not_ready_download_is_409_with_progress(self):
        r = self.c.create(dict(dataset="orders", format="csv"))  # 20,000 rows at 20,000 rows/s
        self.assertEqual(r.status, 202, r)
        eid = r.json()["id"]
        d = self.c.get("/api/exports/%s/download" % eid)
        self.assertEqual(d.status, 409, d)
        self.assertEqual(d.json()["error"], "not_ready")
        self.assertIn(d.json()["status"], ("queued", "running"))
        running = self.c.wait_status(eid, {"running", "ready"})
        if running["status"] == "running":
            self.assertEqual(self.c.get("/api/exports/" + eid).header("Retry-After"), "1")
            self.assertIn("rows_written", running["progress"])
        self.c.wait_status(eid, {"ready"})

    def test_unknown_and_malformed_ids_are_404(self):
        for path in ["/api/exports/AAAAAAAAAAAAAAAAAAAAAA", "/api/exports/abc", "/api/exports/" + "a" * 40,
                     "/api/exports/AAAAAAAAAAAAAAAAAAAAAA/download", "/api/exports/%2e%2e/download",
                     "/api/exports/AAAAAAAAAAAAAAAAAAAA%2F%2F", "/api/exports/AAAAAAAAAAAAAAAAAAAAAA.part"]:
            r = self.c.get(path)
            self.assertEqual(r.status, 404, path)
            self.assertEqual(r.json()["error"], "not_found", path)
        # nginx refuses or re-routes these before exportd sees them: its status stands.
        self.assertEqual(self.c.get("/api/exports/..%2F..%2Fetc%2Fpasswd").status, 404)
        self.assertEqual(self.c.get("/api/exports/abc%00def/download").status, 400)

    def test_delete_removes_file_and_answers_deleted(self):
        ready = self.ready_export(dict(dataset="orders", filters={"country": "SE"}, retention_seconds=2))
        self.assertIn(ready["id"], self.stack.export_files())
        r = self.c.request("DELETE", "/api/exports/" + ready["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], "deleted")
        self.assertEqual(r.json()["message"], DELETED_SENTENCE)
        self.assertNotIn(ready["id"], self.stack.export_files())
        d = self.c.get(ready["links"]["download"])
        self.assertEqual(d.status, 410)
        self.assertEqual(d.json()["error"], "export_deleted")
        self.assertEqual(d.json()["message"], DELETED_SENTENCE)
        again = self.c.request("DELETE", "/api/exports/" + ready["id"])
        self.assertEqual(again.status, 200)
        self.assertEqual(again.json()["status"], "deleted")
        self.assertEqual(self.c.request("DELETE", "/api/exports/" + ready["id"], body="a=b",
                                        content_type="application/x-www-form-urlencoded").status, 415)

    def test_browser_gets_html_page_for_expired_download(self):
        ready = self.ready_export(dict(dataset="orders", filters={"country": "AT", "status": "cancelled"},
                                       retention_seconds=1))
        wait_until(lambda: self.c.get("/api/exports/" + ready["id"]).json()["status"] == "expired", 15,
                   what="expiry")
        r = self.c.get(ready["links"]["download"], headers={
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"})
        self.assertEqual(r.status, 410)
        self.assertTrue(r.header("Content-Type").startswith("text/html"))
        self.assertIn(EXPIRED_SENTENCE, r.body.decode())
        self.assertIn('href="/"', r.body.decode())

    def test_file_missing_under_nginx_answers_410_not_an_nginx_page(self):
        ready = self.ready_export(dict(dataset="orders", filters={"country": "IT", "status": "cancelled"}))
        os.unlink(os.path.join(self.stack.exports_dir, ready["id"]))
        r = self.c.get(ready["links"]["download"])
        self.assertEqual(r.status, 410, r)
        self.assertEqual(r.json()["error"], "export_expired")
        self.assertIsNone(r.header("Content-Disposition"))

    def test_double_click_returns_the_running_export(self):
        body = dict(dataset="orders", format="ndjson", filters={"status": ["paid", "shipped", "paid"]})
        first = self.c.create(body)
        self.assertEqual(first.status, 202, first)
        second = self.c.create(dict(dataset="orders", format="ndjson", filters={"status": ["shipped", "paid"]}))
        if second.status == 200:
            self.assertEqual(second.json()["id"], first.json()["id"])
            self.assertEqual(second.header("Location"), "/api/exports/" + first.json()["id"])
        else:  # the first finished in between: a new export is right then
            self.assertEqual(second.status, 202)
        self.c.wait_status(first.json()["id"], {"ready"})

    def test_list_regenerate_and_short_retention(self):
        ready = self.ready_export(dict(dataset="orders", filters={"country": "PL"}, retention_seconds=1))
        self.assertEqual(ready["retention_seconds"], 1)
        listed = self.c.get("/api/exports?limit=5").json()["exports"]
        self.assertEqual(listed[0]["id"], ready["id"], "newest first, in this session's list")
        stranger = self.stack.client()
        self.assertEqual(stranger.get("/api/exports").json()["exports"], [], "another browser sees nothing")
        self.assertEqual(self.c.get("/api/exports?limit=0").status, 400)
        self.assertEqual(self.c.get("/api/exports?limit=501").status, 400)
        self.assertEqual(self.c.get("/api/exports?limit=x").json()["field"], "limit")
        r = self.c.post("/api/exports/%s/regenerate" % ready["id"])
        self.assertEqual(r.status, 202, r)
        again = r.json()
        self.assertNotEqual(again["id"], ready["id"])
        self.assertEqual(again["filters"], {"country": "PL"})
        self.assertEqual(again["retention_seconds"], 1)
        self.c.wait_status(again["id"], {"ready", "expired"})

    def test_health_and_metrics(self):
        h = self.c.get("/api/health")
        self.assertEqual(h.status, 200)
        body = h.json()
        self.assertEqual((body["status"], body["registry"], body["export_dir"]), ("ok", "ok", "ok"))
        self.assertIn("pending_cleanups", body)
        m = self.stack.metrics()
        for name in ["exportd_exports_created_total", "exportd_cleanup_lag_seconds_bucket",
                     "exportd_export_files", "exportd_export_bytes", "exportd_pending_cleanups",
                     "exportd_oldest_overdue_file_seconds", "exportd_last_sweep_timestamp_seconds"]:
            self.assertIn(name, m, name)


if __name__ == "__main__":
    unittest.main()
