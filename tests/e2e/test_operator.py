"""The operator path (issue: for operators): nginx/exportd.conf included in an
operator's own `server {}` behind auth_basic, exportd started the way
deploy/exportd.socket + deploy/exportd.service start it (a listening socket
handed over as fd 0, an unprivileged user with www-data as supplementary
group, the packaged directory layout), and the seed's scenario through it.
Also exportd under spawn-fcgi, the other fd-0 launcher.

Runs as root (CI) with exportd dropped to `nobody` by setpriv, standing in for
the package's `exportd` user; as another user, exportd runs as that user.
"""
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import unittest

from harness import (EXPIRED_SENTENCE, EXPORTD, ROOT, Client, demo_db, free_port, sha256, wait_until)

UNITS = os.path.join(ROOT, "deploy")
AS_ROOT = os.getuid() == 0
SERVICE_USER = "nobody" if AS_ROOT else pwd.getpwuid(os.getuid()).pw_name
SERVICE_GROUP = "nogroup" if AS_ROOT else grp.getgrgid(os.getgid()).gr_name
WEB_GROUP = "www-data" if AS_ROOT else grp.getgrgid(os.getgid()).gr_name
FILTERS = {"status": ["shipped", "paid"], "country": "DE",
           "created_at": {"from": "2025-01-01", "to": "2025-06-30"},
           "total_cents": {"min": 1000, "max": 50000}, "customer_email": {"contains": "example.org"}}
SQL_WHERE = ("status IN ('shipped','paid') AND country = 'DE' "
             "AND created_at >= '2025-01-01T00:00:00Z' AND created_at < '2025-07-01T00:00:00Z' "
             "AND total_cents BETWEEN 1000 AND 50000 AND lower(customer_email) LIKE '%example.org%'")


def read_unit(name):
    """A systemd unit as {section: {key: [values]}} (keys may repeat)."""
    sections = {}
    section = None
    with open(os.path.join(UNITS, name)) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = sections.setdefault(line.strip("[]"), {})
                continue
            key, _, value = line.partition("=")
            section.setdefault(key.strip(), []).append(value.strip())
    return sections


def nginx_conf(root, port, htpasswd, snippet, upstream_conf):
    user_line = "user www-data www-data;" if AS_ROOT else ""
    return """%(user)s
worker_processes 1;
daemon off;
pid %(root)s/run/nginx.pid;
error_log %(root)s/run/nginx-error.log warn;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    sendfile on;
    access_log %(root)s/run/nginx-access.log;
    client_body_temp_path %(root)s/run/nginx-body;
    fastcgi_temp_path %(root)s/run/nginx-fastcgi;
    proxy_temp_path %(root)s/run/nginx-proxy;
    uwsgi_temp_path %(root)s/run/nginx-uwsgi;
    scgi_temp_path %(root)s/run/nginx-scgi;
    include %(upstream)s;

    # The operator's existing site: exportd is one more include in it.
    server {
        listen 127.0.0.1:%(port)d;
        server_name intranet.example;
        auth_basic "intranet";
        auth_basic_user_file %(htpasswd)s;
        root %(root)s/www;
        include %(snippet)s;
    }
}
""" % {"user": user_line, "root": root, "port": port, "htpasswd": htpasswd, "snippet": snippet,
       "upstream": upstream_conf}


def stop_process(proc, sig, timeout):
    """Sends `sig` and waits; SIGKILL after `timeout`. False when it had to kill."""
    if proc is None or proc.poll() is not None:
        return True
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        return False


class OperatorStack:
    """The packaged layout under a scratch root, nginx with the operator's
    server {}, and exportd launched on a socket as the units describe."""

    def __init__(self, launcher="systemd"):
        self.launcher = launcher
        self.service = read_unit("exportd.service")["Service"]
        self.socket_unit = read_unit("exportd.socket")["Socket"]
        self.port = free_port()
        self.root = tempfile.mkdtemp(prefix="exportd-operator-")
        os.chmod(self.root, 0o755)
        self.state = self.path("var/lib/exportd")
        self.exports = os.path.join(self.state, "exports")
        self.sock_path = self.path(self.socket_unit["ListenStream"][0].lstrip("/"))
        self.proc = None
        self.nginx = None
        self.listener = None
        self.log = None

    def path(self, rel):
        return os.path.join(self.root, rel)

    def chown(self, path, user, group):
        os.chown(path, pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid)

    def start(self):
        # The package's directories, as deploy/debian/postinst makes them.
        for rel, mode, group in [("var/lib/exportd", 0o751, SERVICE_GROUP),
                                 ("var/lib/exportd/data", 0o750, SERVICE_GROUP),
                                 ("var/lib/exportd/exports", 0o750, WEB_GROUP)]:
            os.makedirs(self.path(rel), exist_ok=True)
            os.chmod(self.path(rel), mode)
            self.chown(self.path(rel), SERVICE_USER, group)
        for rel in ("etc/exportd", "run", "www"):
            os.makedirs(self.path(rel), exist_ok=True)
        with open(self.path("www/index.html"), "w") as f:
            f.write("the operator's own site\n")
        os.chmod(self.path("www/index.html"), 0o644)
        os.makedirs(os.path.dirname(self.sock_path), mode=0o755, exist_ok=True)
        shutil.copy(demo_db(20000), self.path("var/lib/exportd/demo.db"))
        self.chown(self.path("var/lib/exportd/demo.db"), SERVICE_USER, SERVICE_GROUP)
        os.chmod(self.path("var/lib/exportd/demo.db"), 0o640)
        with open(os.path.join(ROOT, "deploy", "datasets.json")) as f:
            datasets = f.read().replace('"sqlite:demo.db"', '"sqlite:%s"' % self.path("var/lib/exportd/demo.db"))
        with open(self.path("etc/exportd/datasets.json"), "w") as f:
            f.write(datasets)
        self.config = self.path("etc/exportd/exportd.properties")
        with open(self.config, "w") as f:
            f.write("data_dir = %s\nexports_dir = %s\ndatasets_file = %s\nretention_seconds = 3\n"
                    "sweep_interval_seconds = 1\nfile_group = %s\nrequire_identity = true\n"
                    "min_free_bytes = 1048576\nexport_rows_per_second = 20000\n"
                    % (self.path("var/lib/exportd/data"), self.exports, self.path("etc/exportd/datasets.json"),
                       WEB_GROUP))
        for rel in ("etc/exportd", "etc/exportd/datasets.json", "etc/exportd/exportd.properties"):
            self.chown(self.path(rel), "root" if AS_ROOT else SERVICE_USER, SERVICE_GROUP)
            os.chmod(self.path(rel), 0o750 if rel == "etc/exportd" else 0o640)

        htpasswd = self.path("run/htpasswd")
        with open(htpasswd, "w") as f:
            for user, password in (("alice", "pw-alice"), ("bob", "pw-bob")):
                hashed = subprocess.run(["openssl", "passwd", "-apr1", password], check=True,
                                        capture_output=True, text=True).stdout.strip()
                f.write("%s:%s\n" % (user, hashed))
        self.chown(htpasswd, "root" if AS_ROOT else SERVICE_USER, WEB_GROUP)
        os.chmod(htpasswd, 0o640)
        # The shipped snippet and upstream, pointed at the scratch root.
        with open(os.path.join(ROOT, "nginx", "exportd.conf")) as f:
            snippet = f.read()
        self.assert_contains(snippet, "alias /var/lib/exportd/exports/;")
        with open(self.path("etc/exportd/nginx-snippet.conf"), "w") as f:
            # Relative includes resolve against the -c file's directory: point
            # them at the system's, as /etc/nginx/snippets/exportd.conf would find it.
            f.write(snippet.replace("/var/lib/exportd/exports/", self.exports + "/")
                    .replace("include fastcgi_params;", "include /etc/nginx/fastcgi_params;"))
        with open(os.path.join(ROOT, "deploy", "debian", "exportd-upstream.conf")) as f:
            upstream = f.read()
        self.assert_contains(upstream, "unix:%s;" % self.socket_unit["ListenStream"][0])
        with open(self.path("etc/exportd/nginx-upstream.conf"), "w") as f:
            f.write(upstream.replace(self.socket_unit["ListenStream"][0], self.sock_path))
        with open(self.path("run/nginx.conf"), "w") as f:
            f.write(nginx_conf(self.root, self.port, htpasswd, self.path("etc/exportd/nginx-snippet.conf"),
                               self.path("etc/exportd/nginx-upstream.conf")))

        self.start_exportd()
        self.nginx = subprocess.Popen(["nginx", "-c", self.path("run/nginx.conf"), "-p", self.path("run")],
                                      stdout=subprocess.DEVNULL, stderr=open(self.path("run/nginx.stderr"), "w"))
        wait_until(self.health_ok, 15, what="nginx + exportd to answer /api/health")
        return self

    @staticmethod
    def assert_contains(text, needle):
        if needle not in text:
            raise AssertionError("expected %r in a shipped file" % needle)

    def exec_start(self):
        """ExecStart of the unit, with the built binary and the scratch config."""
        argv = self.service["ExecStart"][0].split()
        assert argv[0] == "/usr/bin/exportd" and argv[1:] == ["--config", "/etc/exportd/exportd.properties"], argv
        cmd = [EXPORTD, "--config", self.config]
        if AS_ROOT:
            # User=, Group=, SupplementaryGroups= and NoNewPrivileges= of the unit.
            assert self.service["User"] == ["exportd"] and self.service["SupplementaryGroups"] == ["www-data"]
            cmd = [shutil.which("setpriv") or "/usr/bin/setpriv", "--reuid", SERVICE_USER, "--regid", SERVICE_GROUP, "--groups", WEB_GROUP,
                   "--no-new-privs", "--inh-caps=-all", "--"] + cmd
        return cmd

    def bind_socket(self):
        """What exportd.socket does: bind ListenStream, SocketMode, SocketGroup."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(self.sock_path):
            os.unlink(self.sock_path)
        s.bind(self.sock_path)
        os.chmod(self.sock_path, int(self.socket_unit["SocketMode"][0], 8))
        os.chown(self.sock_path, -1, grp.getgrnam(WEB_GROUP).gr_gid)
        s.listen(int(self.socket_unit.get("Backlog", ["128"])[0]))
        return s

    def start_exportd(self):
        if self.log:
            self.log.close()
        self.log = open(self.path("run/exportd.log"), "a")
        env = {k: v for k, v in os.environ.items() if not k.startswith("EXPORTD_")}
        if self.launcher == "systemd":
            if self.listener is None:
                self.listener = self.bind_socket()
            # StandardInput=socket, StandardOutput=journal, StandardError=journal.
            self.proc = subprocess.Popen(self.exec_start(), stdin=self.listener.fileno(), stdout=self.log,
                                         stderr=self.log, env=env)
        else:
            mode = self.socket_unit["SocketMode"][0]
            cmd = ["spawn-fcgi", "-s", self.sock_path, "-M", mode, "-n"]
            if AS_ROOT:
                cmd += ["-G", WEB_GROUP]
            self.proc = subprocess.Popen(cmd + ["--"] + self.exec_start(), stdout=self.log, stderr=self.log,
                                         stdin=subprocess.DEVNULL, env=env)
        wait_until(lambda: "event=started" in self.exportd_log() or self.proc.poll() is not None, 15,
                   what="exportd to start")
        if self.proc.poll() is not None:
            raise AssertionError("exportd exited with %s:\n%s" % (self.proc.returncode, self.exportd_log()))

    def exportd_log(self):
        with open(self.path("run/exportd.log")) as f:
            return f.read()

    def health_ok(self):
        try:
            return Client(self.port).get("/api/health").status == 200
        except OSError:
            return False

    def stop_exportd(self, sig=signal.SIGTERM):
        """exportd's exit status; a stop that takes over 20 s fails the test."""
        if not stop_process(self.proc, sig, 20):
            raise AssertionError("exportd did not stop within 20 s of signal %d" % sig)
        return self.proc.returncode if self.proc else None

    def stop(self):
        try:
            self.stop_exportd()
        finally:
            stop_process(self.nginx, signal.SIGQUIT, 10)
            if self.listener:
                self.listener.close()
            if self.log:
                self.log.close()
            if os.environ.get("EXPORTD_KEEP_E2E") is None:
                shutil.rmtree(self.root, ignore_errors=True)


class OperatorPathTest(unittest.TestCase):
    """Socket activation as exportd.socket + exportd.service do it."""

    @classmethod
    def setUpClass(cls):
        cls.stack = OperatorStack("systemd").start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        self.alice = Client(self.stack.port, auth=("alice", "pw-alice"))
        self.bob = Client(self.stack.port, auth=("bob", "pw-bob"))

    def test_exportd_took_fd_0_and_runs_unprivileged(self):
        log = self.stack.exportd_log()
        self.assertIn("listen=fd 0", log, "the socket handed over as fd 0 is used")
        st = os.stat(self.stack.sock_path)
        self.assertEqual(st.st_mode & 0o777, 0o660, "SocketMode")
        self.assertEqual(grp.getgrgid(st.st_gid).gr_name, WEB_GROUP, "SocketGroup")
        with open("/proc/%d/status" % self.stack.proc.pid) as f:
            status = f.read()
        uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
        self.assertEqual(uid, pwd.getpwnam(SERVICE_USER).pw_uid, "runs as the service user")
        if AS_ROOT:
            self.assertEqual(re.search(r"^NoNewPrivs:\s+(\d)", status, re.M).group(1), "1")
            self.assertEqual(re.search(r"^CapEff:\s+(\w+)", status, re.M).group(1), "0" * 16, "no capability")

    def test_the_operators_site_and_auth_stay_in_charge(self):
        anonymous = Client(self.stack.port)
        self.assertEqual(anonymous.get("/").status, 401, "the operator's auth_basic covers the site")
        self.assertEqual(self.alice.get("/").body, b"the operator's own site\n")
        self.assertEqual(anonymous.get("/api/exports").status, 401, "and the API")
        self.assertEqual(Client(self.stack.port, auth=("alice", "wrong")).get("/api/datasets").status, 401)
        h = anonymous.get("/api/health")
        self.assertEqual(h.status, 200, "health needs no credentials (load balancers)")
        self.assertEqual(h.json()["status"], "ok")
        # The snippet's metrics location keeps the server's auth_basic: a local
        # scraper signs in like anyone else.
        self.assertEqual(self.alice.get("/api/metrics").status, 200, "metrics from loopback")
        self.assertEqual(self.alice.get("/_exportd/files/x").status, 404, "the file location is internal")

    def test_seed_scenario_through_the_operator_server(self):
        r = self.alice.create(dict(dataset="orders", format="csv", filters=FILTERS))
        self.assertEqual(r.status, 202, r)
        export_id = r.json()["id"]
        self.assertEqual(self.bob.get("/api/exports/" + export_id).status, 404, "bob cannot see alice's export")
        ready = self.alice.wait_status(export_id, {"ready"})
        d = self.alice.get(ready["links"]["download"])
        self.assertEqual(d.status, 200, d)
        self.assertEqual(sha256(d.body), ready["file"]["sha256"])
        self.assertEqual(d.header("Content-Disposition"), 'attachment; filename="%s"' % ready["file"]["name"])
        self.assertEqual(d.header("X-Content-Type-Options"), "nosniff")
        rows = d.body.decode().count("\r\n") - 1
        out = subprocess.run(["sqlite3", self.stack.path("var/lib/exportd/demo.db"),
                              "SELECT count(*) FROM orders WHERE " + SQL_WHERE],
                             check=True, capture_output=True, text=True).stdout
        self.assertEqual(rows, int(out), "rows equal what sqlite3 counts")
        self.assertEqual(self.bob.get(ready["links"]["download"]).status, 404, "nor download it")

        st = os.stat(os.path.join(self.stack.exports, export_id))
        self.assertEqual(st.st_mode & 0o777, 0o640, "export file mode")
        self.assertEqual(grp.getgrgid(st.st_gid).gr_name, WEB_GROUP, "export file group (nginx reads it)")
        self.assertEqual(st.st_uid, pwd.getpwnam(SERVICE_USER).pw_uid, "written by the service user")

        gone = wait_until(lambda: (lambda x: x if x.status == 410 else None)(self.alice.get(ready["links"]["download"])),
                          20, what="the download to answer 410")
        self.assertEqual(gone.json()["error"], "export_expired")
        self.assertEqual(gone.json()["message"], EXPIRED_SENTENCE)
        wait_until(lambda: export_id not in os.listdir(self.stack.exports), 10, what="the file to be deleted")
        status = self.alice.get("/api/exports/" + export_id).json()
        self.assertEqual(status["status"], "expired")

    def test_reload_then_restart_on_the_same_socket(self):
        pid = self.stack.proc.pid
        os.kill(pid, signal.SIGHUP)  # ExecReload=/bin/kill -HUP $MAINPID
        wait_until(self.stack.health_ok, 15, what="health after SIGHUP")
        self.assertIsNone(self.stack.proc.poll(), "SIGHUP reloads, it does not stop exportd")
        try:
            self.assertEqual(self.stack.stop_exportd(), 0, "SIGTERM (systemctl stop) is a clean exit")
            self.assertTrue(os.path.exists(self.stack.sock_path), "the socket belongs to systemd: exportd leaves it")
        finally:
            # Requests meanwhile wait in the socket's backlog; systemd starts
            # exportd again on the same socket (also after a failed stop).
            self.stack.stop_exportd(signal.SIGKILL)
            self.stack.start_exportd()
            wait_until(self.stack.health_ok, 10, what="health after the restart")
        self.assertNotEqual(self.stack.proc.pid, pid)


class SpawnFcgiTest(unittest.TestCase):
    """exportd under spawn-fcgi (fd 0 again), through the same operator server."""

    @classmethod
    def setUpClass(cls):
        if shutil.which("spawn-fcgi") is None:
            raise unittest.SkipTest("spawn-fcgi is not installed (deploy/install-deps.sh --test)")
        cls.stack = OperatorStack("spawn-fcgi").start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_export_through_spawn_fcgi(self):
        self.assertIn("listen=fd 0", self.stack.exportd_log())
        alice = Client(self.stack.port, auth=("alice", "pw-alice"))
        r = alice.create(dict(dataset="orders", format="ndjson", filters={"country": "FR", "status": "refunded"}))
        self.assertEqual(r.status, 202, r)
        ready = alice.wait_status(r.json()["id"], {"ready"})
        d = alice.get(ready["links"]["download"])
        self.assertEqual(d.status, 200, d)
        self.assertEqual(sha256(d.body), ready["file"]["sha256"])
        self.assertEqual(self.stack.stop_exportd(), 0)


if __name__ == "__main__":
    unittest.main()
