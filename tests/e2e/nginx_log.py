"""Reads the `exportd_timed` access log that nginx/quickstart.conf.in writes to
RUN_DIR/nginx-timed.log:
    $msec $request_time $status $body_bytes_sent "$request" upstream=$upstream_addr upstream_status=$upstream_status
"""
import os
import re

LINE = re.compile(r'^(?P<msec>[\d.]+) (?P<rt>[\d.]+) (?P<status>\d{3}) (?P<bytes>\d+) '
                  r'"(?P<method>\S+) (?P<uri>\S+)[^"]*" upstream=(?P<upstream>.*) '
                  r'upstream_status=(?P<upstream_status>.*)$')
DOWNLOAD = re.compile(r"^/api/exports/([A-Za-z0-9_-]{22,32})/download$")


class Entry:
    def __init__(self, m):
        self.end = float(m["msec"])
        self.request_time = float(m["rt"])
        self.start = self.end - self.request_time   # when nginx read the request (ms resolution)
        self.status = int(m["status"])
        self.bytes = int(m["bytes"])
        self.method = m["method"]
        self.uri = m["uri"]
        self.path = self.uri.split("?")[0]
        self.upstream = m["upstream"]
        self.upstream_status = m["upstream_status"]
        d = DOWNLOAD.match(self.path)
        self.download_id = d.group(1) if d else None


def entries(stack):
    path = os.path.join(stack.run_dir, "nginx-timed.log")
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            m = LINE.match(line.rstrip("\n"))
            if m:
                out.append(Entry(m))
    return out


def error_log(stack):
    path = os.path.join(stack.run_dir, "nginx-error.log")
    if not os.path.exists(path):
        return ""
    with open(path) as f:
        return f.read()
