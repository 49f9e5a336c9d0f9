"""A minimal FastCGI client, for tests that must talk to exportd without nginx.

nginx refuses or rewrites some hostile requests before exportd sees them (a NUL
in the path, a missing identity), and it always sets the identity param. To
prove what exportd itself does with such requests, the tests send FastCGI
records straight to its socket. Only the responder role, one request per
connection (exportd runs with keep-conn off).
"""
import socket
import struct

FCGI_VERSION = 1
BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7
RESPONDER = 1


def _record(rtype, content, request_id=1):
    out = b""
    for off in range(0, max(len(content), 1), 65535):
        chunk = content[off:off + 65535]
        pad = (8 - len(chunk) % 8) % 8
        out += struct.pack(">BBHHBB", FCGI_VERSION, rtype, request_id, len(chunk), pad, 0) + chunk + b"\0" * pad
    return out


def _length(n):
    return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)


def _pairs(params):
    out = b""
    for k, v in params.items():
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        out += _length(len(k)) + _length(len(v)) + k + v
    return out


class FcgiResponse:
    def __init__(self, status, headers, body, stderr):
        self.status = status
        self.headers = headers
        self.body = body
        self.stderr = stderr

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        import json
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<fcgi %d %r>" % (self.status, self.body[:300])


def request(socket_path, method, uri, body=b"", headers=None, params=None, timeout=30):
    """Sends one request; `headers` become HTTP_* params, `params` are raw FastCGI params."""
    env = {
        "REQUEST_METHOD": method,
        "REQUEST_URI": uri,
        "SCRIPT_NAME": uri.split("?")[0],
        "QUERY_STRING": uri.partition("?")[2],
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
    }
    for k, v in (headers or {}).items():
        if k.lower() == "content-type":
            env["CONTENT_TYPE"] = v
        else:
            env["HTTP_" + k.upper().replace("-", "_")] = v
    env.update(params or {})
    env = {k: v for k, v in env.items() if v is not None}
    data = struct.pack(">HB5x", RESPONDER, 0)
    msg = _record(BEGIN_REQUEST, data) + _record(PARAMS, _pairs(env)) + _record(PARAMS, b"")
    if body:
        msg += _record(STDIN, body)
    msg += _record(STDIN, b"")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(socket_path)
        s.sendall(msg)
        raw = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
    finally:
        s.close()
    out, err = b"", b""
    pos = 0
    while pos + 8 <= len(raw):
        _, rtype, _, clen, pad, _ = struct.unpack(">BBHHBB", raw[pos:pos + 8])
        content = raw[pos + 8:pos + 8 + clen]
        pos += 8 + clen + pad
        if rtype == STDOUT:
            out += content
        elif rtype == STDERR:
            err += content
        elif rtype == END_REQUEST:
            break
    head, _, body_out = out.partition(b"\r\n\r\n")
    status = 200
    hdrs = []
    for line in head.decode("latin-1").split("\r\n"):
        if not line:
            continue
        name, _, value = line.partition(":")
        value = value.strip()
        if name.lower() == "status":
            status = int(value.split()[0])
        hdrs.append((name, value))
    return FcgiResponse(status, hdrs, body_out, err)
