"""Starts a real nginx and real exportd processes on 127.0.0.1 for end-to-end tests.

Each Stack lives in its own temporary data directory (reachable by nginx's
workers), on a free port, with short retention and sweep settings. Nothing here
sleeps for a fixed long time: waits poll with deadlines.
"""
import grp
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("EXPORTD_BUILD_DIR", os.path.join(ROOT, "build"))
EXPORTD = os.path.join(BUILD, "fcgi_app", "exportd")
EXPIRED_SENTENCE = ("The export file has expired and been deleted for security reasons. "
                    "Please generate a new export.")
DELETED_SENTENCE = "The export file was deleted on request. Please generate a new export."
_DEMO_CACHE = {}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_db(rows):
    """A demo database of `rows` rows, generated once per test process."""
    if rows not in _DEMO_CACHE:
        d = tempfile.mkdtemp(prefix="exportd-demo-")
        path = os.path.join(d, "demo.db")
        subprocess.run([os.path.join(ROOT, "deploy", "make_demo_db.sh"), path, str(rows)], check=True)
        _DEMO_CACHE[rows] = path
    return _DEMO_CACHE[rows]


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # list of (name, value)
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


class Client:
    """An HTTP client that keeps cookies (a browser-like session) and optional basic auth."""

    def __init__(self, port, auth=None, host="127.0.0.1"):
        self.port = port
        self.host = host
        self.cookies = {}
        self.auth = auth

    def request(self, method, path, body=None, headers=None, content_type="application/json"):
        h = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        if body is not None and content_type and "Content-Type" not in h:
            h["Content-Type"] = content_type
        if self.cookies and "Cookie" not in h:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        if self.auth and "Authorization" not in h:
            import base64
            h["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % self.auth).encode()).decode()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            headers = r.getheaders()
        finally:
            conn.close()
        for k, v in headers:
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                self.cookies[name.strip()] = rest.split(";")[0]
        return Response(r.status, headers, data)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def create(self, body):
        return self.post("/api/exports", body)

    def wait_status(self, export_id, statuses, timeout=30):
        def check():
            r = self.get("/api/exports/" + export_id)
            if r.status == 200 and r.json()["status"] in statuses:
                return r.json()
            return None
        return wait_until(check, timeout, what="export %s to be %s" % (export_id, statuses))


class Stack:
    """nginx + N exportd processes sharing one data directory and registry."""

    def __init__(self, retention=2, sweep=1, rows=20000, config=None, htpasswd_users=None,
                 instances=1, name="stack", datasets=None, files=None):
        self.retention = retention
        self.sweep = sweep
        self.rows = rows
        self.config = dict(config or {})
        self.htpasswd_users = htpasswd_users
        self.instances = instances
        self.datasets = datasets    # a datasets.json document replacing deploy/datasets.json
        self.files = dict(files or {})  # name in the data dir -> file to copy there (fixture DBs)
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="exportd-e2e-%s-" % name)
        self.group = "www-data" if os.getuid() == 0 else grp.getgrgid(os.getgid()).gr_name
        self.exports_dir = os.path.join(self.dir, "exports")
        self.run_dir = os.path.join(self.dir, "run")
        self.procs = [None] * instances
        self.nginx = None
        self.logs = []

    # --- set-up ----------------------------------------------------------
    def _chgrp(self, path):
        shutil.chown(path, group=self.group)

    def start(self):
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        gid = grp.getgrnam(self.group).gr_gid
        for d in (self.dir, self.run_dir, os.path.join(self.dir, "www")):
            os.makedirs(d, exist_ok=True)
            os.chown(d, -1, gid)
            os.chmod(d, 0o750)
        shutil.copytree(os.path.join(ROOT, "nginx", "www"), os.path.join(self.dir, "www"), dirs_exist_ok=True)
        for base, dirs, files in os.walk(os.path.join(self.dir, "www")):
            for n in dirs + files:
                os.chown(os.path.join(base, n), -1, gid)
                os.chmod(os.path.join(base, n), 0o750 if n in dirs else 0o640)
        shutil.copy(demo_db(self.rows), os.path.join(self.dir, "demo.db"))
        shutil.copy(os.path.join(ROOT, "deploy", "datasets.json"), os.path.join(self.dir, "datasets.json"))
        if self.datasets is not None:
            with open(os.path.join(self.dir, "datasets.json"), "w") as f:
                json.dump(self.datasets, f)
        for name, source in self.files.items():
            shutil.copy(source, os.path.join(self.dir, name))
        htpasswd = ""
        if self.htpasswd_users:
            htpasswd = os.path.join(self.run_dir, "htpasswd")
            with open(htpasswd, "w") as f:
                for user, password in self.htpasswd_users.items():
                    hashed = subprocess.run(["openssl", "passwd", "-apr1", password], check=True,
                                            capture_output=True, text=True).stdout.strip()
                    f.write("%s:%s\n" % (user, hashed))
            os.chown(htpasswd, -1, gid)
            os.chmod(htpasswd, 0o640)
        props = {
            "data_dir": self.dir,
            "datasets_file": os.path.join(self.dir, "datasets.json"),
            "retention_seconds": str(self.retention),
            "sweep_interval_seconds": str(self.sweep),
            "file_group": self.group,
            "min_free_bytes": "1048576",
            "require_identity": "true" if self.htpasswd_users else "false",
        }
        props.update({k: str(v) for k, v in self.config.items()})
        self.props = props
        upstreams = []
        for i in range(self.instances):
            with open(self.config_path(i), "w") as f:
                for k, v in props.items():
                    f.write("%s = %s\n" % (k, v))
                f.write("listen = unix:%s\n" % self.socket(i))
            upstreams.append("unix:" + self.socket(i))
        subprocess.run([os.path.join(ROOT, "deploy", "render-nginx-conf.sh"), str(self.port), self.dir,
                        self.run_dir, os.path.join(self.dir, "www"), self.exports_dir, htpasswd] + upstreams,
                       check=True)
        for i in range(self.instances):
            self.start_exportd(i)
        with open(os.path.join(self.run_dir, "nginx.stderr"), "w") as err:
            self.nginx = subprocess.Popen(["nginx", "-c", os.path.join(self.run_dir, "nginx.conf"),
                                           "-p", self.run_dir], stdout=subprocess.DEVNULL, stderr=err)
        wait_until(lambda: self._health_ok(), 15, what="nginx + exportd to answer /api/health")
        return self

    def config_path(self, i=0):
        return os.path.join(self.run_dir, "exportd-%d.properties" % i)

    def socket(self, i=0):
        return os.path.join(self.run_dir, "exportd-%d.sock" % i)

    def log_path(self, i=0):
        return os.path.join(self.run_dir, "exportd-%d.log" % i)

    def start_exportd(self, i=0, env=None, wait=True, wrap=None):
        """`wrap`: a command prefix that execs exportd, e.g. setpriv to run it unprivileged."""
        e = {k: v for k, v in os.environ.items() if not k.startswith("EXPORTD_")}
        e.update(env or {})
        with open(self.log_path(i), "a") as log:
            self.procs[i] = subprocess.Popen(list(wrap or []) + [EXPORTD, "--config", self.config_path(i)], env=e,
                                             stdout=log, stderr=subprocess.STDOUT)
        if wait:
            wait_until(lambda: os.path.exists(self.socket(i)) or self.procs[i].poll() is not None, 15,
                       what="exportd socket")
            if self.procs[i].poll() is not None:
                raise AssertionError("exportd exited with %s:\n%s" % (self.procs[i].returncode, self.log(i)))
        return self.procs[i]

    def _health_ok(self):
        try:
            return Client(self.port).get("/api/health").status == 200
        except OSError:
            return False

    def log(self, i=0):
        with open(self.log_path(i)) as f:
            return f.read()

    # --- faults ----------------------------------------------------------
    def kill_exportd(self, i=0, sig=signal.SIGKILL, timeout=15):
        p = self.procs[i]
        if p and p.poll() is None:
            p.send_signal(sig)
            p.wait(timeout=timeout)
        return p.returncode if p else None

    def stop(self):
        for i in range(self.instances):
            if self.procs[i] is None:
                continue
            try:
                self.kill_exportd(i, signal.SIGTERM)
            except subprocess.TimeoutExpired:
                self.kill_exportd(i, signal.SIGKILL)
        if self.nginx and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
        reports = self.sanitizer_reports()
        if os.environ.get("EXPORTD_KEEP_E2E") is None:
            shutil.rmtree(self.dir, ignore_errors=True)
        if reports:  # an ASan/UBSan build of exportd reported something, maybe only at exit
            raise AssertionError("sanitizer report in exportd's log:\n" + reports)

    def sanitizer_reports(self):
        found = []
        for i in range(self.instances):
            try:
                with open(self.log_path(i), errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                at = text.find(marker)
                if at >= 0:
                    found.append(text[max(0, at - 300):at + 4000])
        return "\n".join(found)

    # --- helpers ---------------------------------------------------------
    def client(self, auth=None):
        return Client(self.port, auth)

    def export_files(self):
        if not os.path.isdir(self.exports_dir):
            return []
        return sorted(os.listdir(self.exports_dir))

    def sqlite_count(self, where="1=1"):
        out = subprocess.run(["sqlite3", os.path.join(self.dir, "demo.db"),
                              "SELECT count(*) FROM orders WHERE %s" % where],
                             check=True, capture_output=True, text=True).stdout
        return int(out.strip())

    def registry_query(self, sql):
        out = subprocess.run(["sqlite3", os.path.join(self.dir, "registry.db"), sql],
                             check=True, capture_output=True, text=True).stdout
        return out.strip()

    def metrics(self):
        return Client(self.port).get("/api/metrics").body.decode()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def metric_value(text, name, labels=""):
    key = name + ("{%s}" % labels if labels else "")
    for line in text.splitlines():
        if line.startswith(key + " "):
            return float(line.split()[-1])
    return 0.0
