"""Starts deploy/cluster.sh in the background for the cluster tests and drives it.

A Cluster lives in its own data directory under /var/tmp (PostgreSQL's user and
nginx's workers must be able to enter it), on a free port, with its own network
prefix, so that it never meets a cluster someone runs by hand. It offers what
the tests need: the front's port, each host's address, each host's exportd pid,
psql against the cluster's PostgreSQL (as its superuser, through the socket in
DATA_DIR/pg/run), a host's link to PostgreSQL (down/up), PostgreSQL's restart.

The registry is the cluster's PostgreSQL. EXPORTD_CLUSTER_TEST_REGISTRY=sqlite
runs the same scenarios on one SQLite registry file that every host opens
(they share the filesystem), to tell a cluster problem from a PostgreSQL one.
"""
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from harness import Client, free_port, wait_until  # noqa: E402

PG_BIN = sorted(d for d in (os.path.join("/usr/lib/postgresql", v, "bin")
                            for v in os.listdir("/usr/lib/postgresql")) if os.path.isdir(d))[-1] \
    if os.path.isdir("/usr/lib/postgresql") else ""


class Cluster:
    def __init__(self, name, hosts=3, net="10.79", retention=10, rows=2000, env=None, wrappers=None):
        self.hosts = hosts
        self.net = net
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="exportd-cluster-%s-" % name, dir="/var/tmp")
        os.chmod(self.dir, 0o755)
        self.data_dir = os.path.join(self.dir, "data")
        self.exports_dir = os.path.join(self.data_dir, "exports")
        self.run_dir = os.path.join(self.data_dir, "run")    # the front nginx's (tests/e2e/nginx_log.py)
        self.log_path = os.path.join(self.dir, "cluster.log")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("EXPORTD_")}
        self.env.update({
            "EXPORTD_PORT": str(self.port), "EXPORTD_DATA_DIR": self.data_dir,
            "EXPORTD_HOSTS": str(hosts), "EXPORTD_CLUSTER_NET": net,
            "EXPORTD_RETENTION_SECONDS": str(retention), "EXPORTD_DEMO_ROWS": str(rows),
            "EXPORTD_BUILD_DIR": os.environ.get("EXPORTD_BUILD_DIR", os.path.join(ROOT, "build")),
            "EXPORTD_HEALTH_TIMEOUT_SECONDS": "60",
        })
        self.env.update(env or {})
        self.registry_backend = "postgresql"
        if os.environ.get("EXPORTD_CLUSTER_TEST_REGISTRY") == "sqlite":
            # registry_audit.py finds it at self.dir/registry.db.
            self.registry_backend = "sqlite"
            self.env["EXPORTD_REGISTRY"] = "sqlite:" + os.path.join(self.dir, "registry.db")
        for n, wrapper in (wrappers or {}).items():
            self.env["EXPORTD_HOST_%d_WRAPPER" % n] = wrapper
        self.proc = None

    # --- life ------------------------------------------------------------------
    def start(self):
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen([os.path.join(ROOT, "deploy", "cluster.sh")], env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(lambda: "exportd: open http" in self.log() or self.proc.poll() is not None, 120,
                       interval=0.2, what="deploy/cluster.sh to print its URL")
            if self.proc.poll() is not None:
                raise AssertionError("deploy/cluster.sh exited with %s:\n%s" % (self.proc.returncode, self.log()))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """SIGTERM, as Ctrl-C would; then checks that it took everything down."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        left = [ns for ns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
                if ns.startswith("exd%dh" % self.port)]
        if os.environ.get("EXPORTD_KEEP_E2E") is None and not left:
            subprocess.run(["rm", "-rf", self.dir])
        return left

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    # --- hosts -----------------------------------------------------------------
    def namespace(self, n):
        return "exd%dh%d" % (self.port, n)

    def host_ip(self, n):
        return "%s.0.%d" % (self.net, 10 + n)

    def host_of(self, upstream_addr):
        """The host number from the front's X-Exportd-Host (the last address tried)."""
        last = (upstream_addr or "").split(",")[-1].strip()
        for n in range(1, self.hosts + 1):
            if last == "%s:80" % self.host_ip(n):
                return n
        return None

    def host_dir(self, n):
        return os.path.join(self.data_dir, "hosts", str(n))

    def exportd_pid(self, n):
        with open(os.path.join(self.host_dir(n), "exportd.pid")) as f:
            return int(f.read().strip())

    def exportd_log(self, n):
        with open(os.path.join(self.host_dir(n), "exportd.log"), errors="replace") as f:
            return f.read()

    def front(self):
        return Client(self.port)

    def in_host(self, n, *cmd):
        subprocess.run(["ip", "netns", "exec", self.namespace(n)] + list(cmd), check=True)

    def cut_from_postgresql(self, n):
        self.in_host(n, "ip", "link", "set", "db0", "down")

    def reconnect_to_postgresql(self, n):
        self.in_host(n, "ip", "link", "set", "db0", "up")

    def restart_postgresql(self):
        subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(PG_BIN, "pg_ctl"), "-D",
                        os.path.join(self.data_dir, "pg", "data"), "-m", "fast", "-w", "restart",
                        "-l", os.path.join(self.data_dir, "pg", "server.log")],
                       check=True, cwd="/", stdout=subprocess.DEVNULL)

    # --- PostgreSQL ------------------------------------------------------------
    def psql(self, sql, db="exportd"):
        """Rows of tab-separated fields, NULL as None, through psql as the superuser."""
        out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-P", "null=\\N", "-v", "ON_ERROR_STOP=1",
                              "-h", os.path.join(self.data_dir, "pg", "run"),
                              "-p", self.env.get("EXPORTD_PG_PORT", "5432"), "-U", "postgres", "-d", db],
                             input=sql, capture_output=True, text=True, check=True).stdout
        rows = []
        for line in out.splitlines():
            if line == "":
                continue
            rows.append(tuple(_value(v) for v in line.split("\t")))
        return rows

    def export_files(self):
        return sorted(os.listdir(self.exports_dir))


def _value(text):
    if text == "\\N":
        return None
    try:
        return int(text)
    except ValueError:
        return text


class DirectoryWatcher(threading.Thread):
    """Lists the shared export directory every `interval` seconds and records when
    each export's file was first missed: deletion times measured from the
    directory itself, not from what the registry says. `gone[id]` is a wall time."""

    def __init__(self, path, interval=0.02):
        super().__init__(name="directory-watcher", daemon=True)
        self.path = path
        self.interval = interval
        self.present = set()
        self.seen = set()
        self.gone = {}
        self._halt = threading.Event()
        self.lock = threading.Lock()

    def run(self):
        while not self._halt.is_set():
            names = {n for n in os.listdir(self.path) if not n.endswith(".part")}
            now = time.time()
            with self.lock:
                for n in self.present - names:
                    self.gone.setdefault(n, now)
                self.seen |= names
                self.present = names
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join(5)

    def lateness(self, expires):
        """{id: seconds from expires_at to the file's disappearance} for the
        files of `expires` ({id: expires_at}) that were seen and are gone."""
        with self.lock:
            return {i: self.gone[i] - e for i, e in expires.items() if i in self.gone and e is not None}

    def still_present(self, ids):
        with self.lock:
            return sorted(i for i in ids if i in self.present)
