# One e2e file for exportctl (over 400 lines): one test per command and exit code.
"""exportctl against the real stack (nginx + exportd): create, wait, download,
status, list, delete, regenerate, and one distinct exit code per outcome
(issue: for scripts)."""
import hashlib
import json
import os
import pty
import re
import select
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import BUILD, DELETED_SENTENCE, EXPIRED_SENTENCE, Stack, wait_until

EXPORTCTL = os.path.join(BUILD, "exportctl", "exportctl")
# Throttled so that "running" can be watched; max_rows makes the whole
# dataset (20,000 rows) fail with too_many_rows while filtered exports pass.
DEMO_CONFIG = {"export_rows_per_second": 3000, "max_rows": 6000, "max_active_exports_per_owner": 3}
SLOW = "country=DE,FR"  # 4,008 of the 20,000 rows: about 1.3 s at 3,000 rows/s
SHIPPED_PAID_H1_2026 = ("status IN ('shipped','paid') AND created_at >= '2026-01-01T00:00:00Z' "
                        "AND created_at < '2026-07-01T00:00:00Z'")

EXIT_OK, EXIT_USAGE, EXIT_REFUSED, EXIT_FAILED, EXIT_EXPIRED, EXIT_NETWORK, EXIT_CHECKSUM, EXIT_TIMEOUT = \
    0, 2, 3, 4, 5, 6, 7, 8


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Ctl:
    """Runs exportctl with a URL, a scratch directory and (optionally) a cookie jar."""

    def __init__(self, url, workdir, jar=None, env=None):
        self.url = url
        self.workdir = workdir
        self.jar = jar
        self.env = dict(env or {})

    def run(self, *args, timeout=60, url=True, env=None):
        e = {k: v for k, v in os.environ.items() if not k.startswith("EXPORTD_") and k != "NETRC"}
        e["HOME"] = self.workdir           # no ~/.netrc of whoever runs the tests
        e.update(self.env)
        e.update(env or {})
        cmd = [EXPORTCTL]
        if url:
            cmd += ["--url", self.url]
        if self.jar:
            cmd += ["--cookie-jar", self.jar]
        cmd += list(args)
        return subprocess.run(cmd, cwd=self.workdir, env=e, capture_output=True, timeout=timeout)

    def json(self, *args, **kw):
        r = self.run("--json", *args, **kw)
        return r, json.loads(r.stdout.decode() or "null")


class StackTestCase(unittest.TestCase):
    """One Stack (built from STACK) and one scratch directory per test class."""
    STACK = {}

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(**cls.STACK).start()
        cls.url = "http://127.0.0.1:%d" % cls.stack.port
        cls.tmp = tempfile.mkdtemp(prefix="%s-" % cls.STACK["name"])

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)


class ExportctlDemoTest(StackTestCase):
    """exportd without identities: the session cookie is the owner (docs/api.md, Owners and sessions)."""
    STACK = dict(retention=4, sweep=1, rows=20000, name="exportctl", config=DEMO_CONFIG)

    def setUp(self):
        self.work = tempfile.mkdtemp(dir=self.tmp)
        # A jar per test: each test is its own owner, so owners' limits never mix.
        self.ctl = Ctl(self.url, self.work, jar=os.path.join(self.work, "cookies"))

    def assertExit(self, result, code, label):
        self.assertEqual(result.returncode, code, "%s: exit %d, stdout %r, stderr %r" % (
            label, result.returncode, result.stdout[-500:], result.stderr[-1000:]))

    def ready_id(self, *filters, retention=None):
        args = ["create", "--dataset", "orders", "--wait", "-q"]
        for f in filters:
            args += ["--filter", f]
        if retention:
            args += ["--retention", str(retention)]
        r = self.ctl.run(*args)
        self.assertExit(r, EXIT_OK, "create --wait")
        return r.stdout.decode().strip()

    # --- the happy path ---------------------------------------------------
    def test_create_wait_output_downloads_a_verified_file(self):
        r = self.ctl.run("create", "--dataset", "orders", "--format", "csv", "--filter", "status=shipped,paid",
                         "--filter", "created_at=2026-01-01..2026-06-30", "--wait", "--output", "orders.csv")
        self.assertExit(r, EXIT_OK, "create --wait --output")
        export_id = r.stdout.decode().strip()
        self.assertRegex(export_id, r"^[A-Za-z0-9_-]{22,32}$", "stdout is the id")
        path = os.path.join(self.work, "orders.csv")
        status = self.stack.client().get("/api/exports/" + export_id).json()
        self.assertEqual(status["status"], "ready")
        self.assertEqual(file_sha256(path), status["file"]["sha256"], "the saved bytes are the export's")
        with open(path, "rb") as f:
            lines = f.read().split(b"\r\n")
        self.assertEqual(len(lines) - 2, self.stack.sqlite_count(SHIPPED_PAID_H1_2026), "rows as sqlite3 counts")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600, "personal data: readable by its owner only")
        self.assertEqual([n for n in os.listdir(self.work) if n.endswith(".part")], [], "no partial file left")
        self.assertIn(b"sha256 verified", r.stderr)

    def test_filter_grammar_maps_to_the_spec_json(self):
        r, created = self.ctl.json("create", "--dataset", "orders", "--format", "ndjson",
                                   "--filter", "status=shipped,paid", "--filter", "country=DE",
                                   "--filter", "created_at=2025-01-01..", "--filter", "total_cents=1000..50000",
                                   "--filter", "customer_email~example.org")
        self.assertExit(r, EXIT_OK, "create --json")
        self.assertEqual(created["filters"], {
            "status": ["shipped", "paid"], "country": "DE", "created_at": {"from": "2025-01-01"},
            "total_cents": {"min": 1000, "max": 50000}, "customer_email": {"contains": "example.org"}})
        self.assertEqual(created["format"], "ndjson")
        r, other = self.ctl.json("create", "--dataset", "orders", "--filter", "total_cents=42",
                                 "--filter", "created_at=2026-03-01", "--filter", "country=DE\\,FR")
        self.assertExit(r, EXIT_OK, "create with single values")
        self.assertEqual(other["filters"], {"total_cents": 42, "created_at": {"from": "2026-03-01", "to": "2026-03-01"},
                                            "country": "DE,FR"}, "a single date is that day; \\, is a comma")

    def test_plain_lines_without_a_terminal(self):
        r = self.ctl.run("create", "--dataset", "orders", "--filter", SLOW, "--wait")
        self.assertExit(r, EXIT_OK, "create --wait")
        err = r.stderr.decode()
        self.assertNotIn("\r", err, "no bar redrawing in a log")
        self.assertRegex(err, r"exportctl: \S+ (queued|running)")
        self.assertRegex(err, r"ready: orders-\d{8}T\d{6}Z\.csv")

    def test_progress_bar_on_a_terminal(self):
        leader, follower = pty.openpty()
        try:
            p = subprocess.Popen([EXPORTCTL, "--url", self.url, "create", "--dataset", "orders",
                                  "--filter", SLOW, "--wait", "-o", "bar.csv"],
                                 cwd=self.work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower,
                                 env=dict(os.environ, TERM="xterm"))
            os.close(follower)
            follower = None
            screen = b""
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                ready, _, _ = select.select([leader], [], [], 1)
                if ready:
                    try:
                        chunk = os.read(leader, 4096)
                    except OSError:
                        break
                    if not chunk:
                        break
                    screen += chunk
                elif p.poll() is not None:
                    break
            self.assertEqual(p.wait(timeout=30), EXIT_OK, screen)
        finally:
            os.close(leader)
            if follower is not None:
                os.close(follower)
        self.assertIn(b"\r", screen, "the bar is redrawn in place")
        self.assertRegex(screen, rb"\[#+-*\] +\d+%", "a bar with a percentage")
        self.assertIn(b"100%", screen)

    def test_output_dash_writes_the_file_to_stdout(self):
        r = self.ctl.run("create", "--dataset", "orders", "--format", "ndjson", "--filter", "country=NL",
                         "--filter", "status=refunded", "-o", "-", "-q")
        self.assertExit(r, EXIT_OK, "create -o -")
        lines = r.stdout.decode().splitlines()
        self.assertEqual(len(lines), self.stack.sqlite_count("country='NL' AND status='refunded'"))
        self.assertEqual(json.loads(lines[0])["country"], "NL")

    def test_status_list_delete_and_regenerate(self):
        export_id = self.ready_id("country=SE")
        r, status = self.ctl.json("status", export_id)
        self.assertExit(r, EXIT_OK, "status")
        self.assertEqual((status["id"], status["status"]), (export_id, "ready"))
        human = self.ctl.run("status", export_id)
        self.assertRegex(human.stdout.decode(), r"status:\s+ready")
        self.assertRegex(human.stdout.decode(), r"sha256:\s+[0-9a-f]{64}")

        r, listed = self.ctl.json("list", "--limit", "5")
        self.assertExit(r, EXIT_OK, "list")
        self.assertEqual([e["id"] for e in listed["exports"]], [export_id], "the jar's session lists its export")
        table = self.ctl.run("list").stdout.decode()
        self.assertIn(export_id, table)
        self.assertRegex(table, r"ready\s+orders\s+csv")
        self.assertEqual(Ctl(self.url, self.work).json("list")[1]["exports"], [], "another session sees nothing")

        r = self.ctl.run("delete", export_id)
        self.assertExit(r, EXIT_OK, "delete")
        self.assertEqual(r.stdout.decode().strip(), export_id + " deleted")
        self.assertNotIn(export_id, self.stack.export_files())
        r, status = self.ctl.json("status", export_id)
        self.assertExit(r, EXIT_EXPIRED, "status of a deleted export")
        self.assertEqual(status["message"], DELETED_SENTENCE)
        r, err = self.ctl.json("download", export_id)
        self.assertExit(r, EXIT_EXPIRED, "download of a deleted export")
        self.assertEqual(err["error"], "export_deleted")

        os.makedirs(os.path.join(self.work, "again"))
        r = self.ctl.run("regenerate", export_id, "--wait", "-o", "again/", "-q")
        self.assertExit(r, EXIT_OK, "regenerate --wait -o DIR/")
        saved = os.listdir(os.path.join(self.work, "again"))
        self.assertEqual(len(saved), 1)
        self.assertRegex(saved[0], r"^orders-\d{8}T\d{6}Z\.csv$", "saved under the export's own name")
        self.assertNotEqual(r.stdout.decode().strip(), export_id, "a new export")

    def test_datasets_lists_filters(self):
        r = self.ctl.run("datasets")
        self.assertExit(r, EXIT_OK, "datasets")
        self.assertIn("orders (Orders): csv, ndjson, xlsx", r.stdout.decode())
        self.assertIn("--filter status (enum: pending,paid,shipped,refunded,cancelled)", r.stdout.decode())

    # --- the cookie jar is curl's (Netscape format) ------------------------
    SESSION_LINE = r"(?m)^#HttpOnly_127\.0\.0\.1\tFALSE\t/\tFALSE\t0\texportd_session\t(\S+)$"

    def curl(self, jar_args, path, data=None):
        """curl against the stack with cookie options such as ["-b", jar, "-c", jar]; the JSON answer."""
        cmd = ["curl", "-sS", "--fail", "--max-time", "30"] + list(jar_args)
        if data is not None:
            cmd += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(data)]
        r = subprocess.run(cmd + [self.url + path], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, "curl %s: %r" % (path, r.stderr))
        return json.loads(r.stdout.decode())

    def read(self, path):
        with open(path) as f:
            return f.read()

    def assertNetscapeJar(self, path, private=True):
        """The jar holds exportd's session as curl writes it; returns the session value."""
        text = self.read(path)
        self.assertTrue(text.startswith("# Netscape HTTP Cookie File\n"), text)
        sessions = re.findall(self.SESSION_LINE, text)
        self.assertEqual(len(sessions), 1, "one HttpOnly session line in %r" % text)
        if private:
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600, "the jar holds a credential")
        return sessions[0]

    def test_cookie_jar_is_shared_with_curl_both_ways(self):
        # curl starts the session, exportctl uses it.
        jar = os.path.join(self.work, "curl-jar")
        self.assertEqual(self.curl(["-c", jar], "/api/exports")["exports"], [], "a new session")
        session = self.assertNetscapeJar(jar, private=False)
        before = self.read(jar)
        ctl = Ctl(self.url, self.work, jar=jar)
        r = ctl.run("create", "--dataset", "orders", "--filter", "country=SE", "--wait", "-q")
        self.assertExit(r, EXIT_OK, "create with curl's jar")
        export_id = r.stdout.decode().strip()
        r, listed = ctl.json("list")
        self.assertExit(r, EXIT_OK, "list with curl's jar")
        self.assertEqual([e["id"] for e in listed["exports"]], [export_id])
        self.assertEqual(self.read(jar), before, "the session was sent, so nothing to rewrite")
        listed = self.curl(["-b", jar, "-c", jar], "/api/exports")
        self.assertEqual([e["id"] for e in listed["exports"]], [export_id], "curl sees exportctl's export")
        self.assertEqual(self.assertNetscapeJar(jar, private=False), session)

        # exportctl starts the session, curl uses it (and writes the jar back).
        jar2 = os.path.join(self.work, "ctl-jar")
        ctl2 = Ctl(self.url, self.work, jar=jar2)
        r = ctl2.run("create", "--dataset", "orders", "--filter", "country=DK", "--wait", "-q")
        self.assertExit(r, EXIT_OK, "create with a new jar")
        export2 = r.stdout.decode().strip()
        session2 = self.assertNetscapeJar(jar2)
        self.assertNotEqual(session2, session)
        listed = self.curl(["-b", jar2, "-c", jar2], "/api/exports")
        self.assertEqual([e["id"] for e in listed["exports"]], [export2], "curl reads exportctl's jar")
        created = self.curl(["-b", jar2, "-c", jar2], "/api/exports",
                            data={"dataset": "orders", "format": "csv", "filters": {"country": "NO"}})
        r, listed = ctl2.json("list")
        self.assertExit(r, EXIT_OK, "list after curl rewrote the jar")
        self.assertEqual(sorted(e["id"] for e in listed["exports"]), sorted([export2, created["id"]]))
        self.assertEqual(self.assertNetscapeJar(jar2, private=False), session2)

    def test_cookie_jar_keeps_other_sites_cookies(self):
        jar = os.path.join(self.work, "shared-jar")
        others = ("# Netscape HTTP Cookie File\n"
                  "# kept by curl for other sites\n"
                  "\n"
                  ".example.org\tTRUE\t/\tFALSE\t4102444800\ttheme\tdark\n"
                  "#HttpOnly_login.example.net\tFALSE\t/\tTRUE\t0\tsid\ts3cr3t.v1\n")
        with open(jar, "w") as f:
            f.write(others)
        ctl = Ctl(self.url, self.work, jar=jar)
        r = ctl.run("create", "--dataset", "orders", "--filter", "country=FI", "--wait", "-q")
        self.assertExit(r, EXIT_OK, "create")
        export_id = r.stdout.decode().strip()
        text = self.read(jar)
        self.assertTrue(text.startswith(others), "every line of the jar is kept as it was: %r" % text)
        self.assertNetscapeJar(jar)
        self.assertEqual([n for n in os.listdir(self.work) if n != "shared-jar"], [], "no temporary file left")
        listed = self.curl(["-b", jar], "/api/exports")
        self.assertEqual([e["id"] for e in listed["exports"]], [export_id], "curl uses the session exportctl stored")

    def test_cookie_jar_of_the_old_format_is_still_read(self):
        curl_jar = os.path.join(self.work, "curl-jar")
        created = self.curl(["-c", curl_jar], "/api/exports",
                            data={"dataset": "orders", "format": "csv", "filters": {"country": "IS"}})
        session = self.assertNetscapeJar(curl_jar, private=False)
        jar = os.path.join(self.work, "old-jar")
        with open(jar, "w") as f:   # what exportctl wrote before it used curl's format
            f.write("# exportctl cookie jar: the exportd session cookie, name=value per line\n"
                    "exportd_session=%s\n" % session)
        r, listed = Ctl(self.url, self.work, jar=jar).json("list")
        self.assertExit(r, EXIT_OK, "list with an old jar")
        self.assertEqual([e["id"] for e in listed["exports"]], [created["id"]], "the old jar's session is used")

    # --- one exit code per outcome ------------------------------------------
    def test_expired_download_exits_5_and_keeps_nothing(self):
        export_id = self.ready_id("country=AT", retention=1)
        wait_until(lambda: self.ctl.run("status", export_id).returncode == EXIT_EXPIRED, 20,
                   interval=0.2, what="status to say expired (exit 5)")
        r, err = self.ctl.json("download", export_id, "-o", "late.csv")
        self.assertExit(r, EXIT_EXPIRED, "download after expiry")
        self.assertEqual(err["error"], "export_expired")
        self.assertEqual(err["message"], EXPIRED_SENTENCE)
        self.assertEqual(err["links"]["regenerate"], "/api/exports/%s/regenerate" % export_id)
        self.assertEqual(err["exit_code"], EXIT_EXPIRED)
        self.assertIn(EXPIRED_SENTENCE, r.stderr.decode())
        self.assertFalse(os.path.exists(os.path.join(self.work, "late.csv")))
        r = self.ctl.run("status", export_id, "--wait", "-o", "late.csv")
        self.assertExit(r, EXIT_EXPIRED, "status --wait of an expired export")
        r = self.ctl.run("delete", export_id)
        self.assertExit(r, EXIT_OK, "delete of an expired export changes nothing")
        self.assertIn("is expired", r.stdout.decode())

    def test_refused_requests_exit_3(self):
        r, err = self.ctl.json("create", "--dataset", "nope")
        self.assertExit(r, EXIT_REFUSED, "unknown dataset")
        self.assertEqual((err["error"], err["exit_code"]), ("unknown_dataset", 3))
        r, err = self.ctl.json("create", "--dataset", "orders", "--format", "pdf")
        self.assertExit(r, EXIT_REFUSED, "unsupported format")
        self.assertEqual(err["error"], "unsupported_format")
        r, err = self.ctl.json("create", "--dataset", "orders", "--filter", "created_at=2026-02-01..2026-01-01")
        self.assertExit(r, EXIT_REFUSED, "from after to")
        self.assertEqual((err["error"], err["field"]), ("invalid_request", "filters.created_at.from"))
        r, err = self.ctl.json("create", "--dataset", "orders", "--retention", "999999")
        self.assertExit(r, EXIT_REFUSED, "retention above the configured one")
        r, err = self.ctl.json("status", "AAAAAAAAAAAAAAAAAAAAAA")
        self.assertExit(r, EXIT_REFUSED, "unknown id")
        self.assertEqual(err["error"], "not_found")

    def test_too_many_exports_exits_3_with_retry_after(self):
        ids = []
        for i in range(3):  # about 1.3 s each, two at a time
            r = self.ctl.run("create", "--dataset", "orders", "--filter", SLOW, "--filter", "total_cents=%d.." % (i + 1))
            self.assertExit(r, EXIT_OK, "create %d" % i)
            ids.append(r.stdout.decode().strip())
        r, err = self.ctl.json("create", "--dataset", "orders", "--filter", SLOW, "--filter", "total_cents=9..")
        self.assertExit(r, EXIT_REFUSED, "the fourth active export")
        self.assertEqual(err["error"], "too_many_exports")
        self.assertRegex(r.stderr.decode(), r"retry after \d+ s")
        for export_id in ids:  # let them end, for the other tests' sake
            self.ctl.run("status", export_id, "--wait", "-q", "--timeout", "30")

    def test_failed_export_exits_4(self):
        r, err = self.ctl.json("create", "--dataset", "orders", "--format", "csv", "--wait", "-o", "all.csv")
        self.assertExit(r, EXIT_FAILED, "20,000 rows against max_rows 6,000")
        self.assertIn(b"too_many_rows", r.stderr)
        self.assertEqual(err["export"]["error"]["code"], "too_many_rows")
        self.assertEqual(err["exit_code"], EXIT_FAILED)
        self.assertFalse(os.path.exists(os.path.join(self.work, "all.csv")))
        r = self.ctl.run("status", err["export"]["id"])
        self.assertExit(r, EXIT_FAILED, "status of a failed export")

    def test_timeout_while_waiting_exits_8(self):
        started = time.monotonic()
        r = self.ctl.run("create", "--dataset", "orders", "--filter", SLOW, "--wait", "--timeout", "0.5")
        self.assertExit(r, EXIT_TIMEOUT, "--timeout 0.5 on a 1.3 s export")
        self.assertLess(time.monotonic() - started, 10)
        self.assertIn(b"--timeout", r.stderr)

    def test_checksum_mismatch_exits_7_and_keeps_nothing(self):
        export_id = self.ready_id("country=PL", "status=pending")
        path = os.path.join(self.stack.exports_dir, export_id)
        with open(path, "r+b") as f:   # same size, other bytes
            first = f.read(1)
            f.seek(0)
            f.write(b"X" if first != b"X" else b"Y")
        r, err = self.ctl.json("download", export_id, "-o", "tampered.csv")
        self.assertExit(r, EXIT_CHECKSUM, "tampered file")
        self.assertEqual(err["error"], "sha256_mismatch")
        self.assertEqual(os.listdir(self.work), ["cookies"], "neither the file nor a partial one is kept")

    def test_network_errors_exit_6(self):
        with socket_closed_port() as port:
            r = Ctl("http://127.0.0.1:%d" % port, self.work).run("list")
        self.assertExit(r, EXIT_NETWORK, "connection refused")
        self.assertIn(b"Connection refused", r.stderr)

    def test_usage_errors_exit_2(self):
        cases = [("create",), ("create", "--dataset", "orders", "--filter", "bogus=1"),
                 ("create", "--dataset", "orders", "--filter", "status=open"),
                 ("create", "--dataset", "orders", "--filter", "total_cents=abc"),
                 ("create", "--dataset", "orders", "--filter", "created_at~2026"),
                 ("create", "--dataset", "orders", "--filter", "country=DE", "--filter", "country=FR"),
                 ("status",), ("status", "../../etc/passwd"), ("frobnicate",), ("list", "--limit", "0"),
                 ("list", "--wait"), ("--no-such-option", "list")]
        for args in cases:
            self.assertExit(self.ctl.run(*args), EXIT_USAGE, " ".join(args))
        help_text = self.ctl.run("--help", url=False)
        self.assertExit(help_text, EXIT_OK, "--help")
        for line in ["3  refused", "5  the export expired", "6  network error", "7  the downloaded file"]:
            self.assertIn(line, help_text.stdout.decode())

    def test_url_from_the_environment(self):
        r = Ctl(self.url, self.work).run("datasets", url=False, env={"EXPORTD_URL": self.url})
        self.assertExit(r, EXIT_OK, "EXPORTD_URL")


class socket_closed_port:
    """A local port that nothing listens on, for the duration of a with block."""

    def __enter__(self):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        return self.port

    def __exit__(self, *exc):
        return False


class ExportctlAuthTest(StackTestCase):
    """exportd behind auth_basic with require_identity = true."""
    STACK = dict(retention=30, sweep=1, rows=2000, name="exportctl-auth",
                 htpasswd_users={"alice": "pw-alice", "bob": "pw-bob"})

    def test_credentials_from_options_environment_and_netrc(self):
        ctl = Ctl(self.url, self.tmp)
        r = ctl.run("list")
        self.assertEqual(r.returncode, EXIT_REFUSED, r.stderr)
        self.assertIn(b"401", r.stderr)
        self.assertEqual(ctl.run("--user", "alice", "--password", "wrong", "list").returncode, EXIT_REFUSED)

        r = ctl.run("--user", "alice", "--password", "pw-alice", "create", "--dataset", "orders",
                    "--filter", "country=DE", "--wait", "-o", "alice.csv", "-q")
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        export_id = r.stdout.decode().strip()

        r = ctl.run("status", export_id, env={"EXPORTD_USER": "alice", "EXPORTD_PASSWORD": "pw-alice"})
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)

        netrc = os.path.join(self.tmp, "netrc")
        with open(netrc, "w") as f:
            f.write("machine example.org login x password y\n"
                    "machine 127.0.0.1\n  login bob\n  password pw-bob\n"
                    "machine 127.0.0.1 login alice password \"pw-alice\"\n")
        os.chmod(netrc, 0o600)
        r, listed = ctl.json("--netrc-file", netrc, "list")
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        self.assertEqual(listed["exports"], [], "the first matching entry is bob's: he sees nothing of alice's")
        r = ctl.run("--netrc-file", netrc, "status", export_id)
        self.assertEqual(r.returncode, EXIT_REFUSED, "bob gets 404 for alice's export")
        r, listed = ctl.json("--netrc-file", netrc, "--user", "alice", "list")
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        self.assertEqual([e["id"] for e in listed["exports"]], [export_id], "--user picks alice's netrc entry")
        os.rename(netrc, os.path.join(self.tmp, ".netrc"))
        r = ctl.run("--user", "alice", "list")
        self.assertEqual(r.returncode, EXIT_OK, "~/.netrc is read by default: %r" % r.stderr)


if __name__ == "__main__":
    unittest.main()
