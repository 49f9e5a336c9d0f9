#!/usr/bin/env python3
"""Starts one nginx + exportd stack (tests/e2e/harness.py) for the browser tests.

Prints one JSON line on stdout once the stack answers /api/health:
    {"base_url": "http://127.0.0.1:PORT", "port": PORT, "dir": DATA_DIR, "demo_db": PATH}
then keeps the stack running until stdin closes (the test process exits) or a
SIGTERM/SIGINT arrives, and stops it. On a start-up failure it prints
{"error": "..."} (and exportd's log on stderr) and exits 1.

    serve_stack.py [--retention S] [--rows N] [--sweep S] [--set KEY=VALUE ...] [--user NAME:PASSWORD]
"""
import argparse
import json
import os
import shutil
import signal
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))

import harness  # noqa: E402
from harness import Stack  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--retention", type=int, default=3)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--sweep", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="an exportd configuration key (repeatable)")
    parser.add_argument("--user", help="NAME:PASSWORD: put basic auth in front (require_identity = true)")
    parser.add_argument("--name", default="browser")
    args = parser.parse_args()

    config = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error("--set takes KEY=VALUE, not %r" % item)
        config[key] = value
    users = None
    if args.user:
        name, _, password = args.user.partition(":")
        users = {name: password}

    def stop_on_signal(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)

    stack = Stack(retention=args.retention, sweep=args.sweep, rows=args.rows, config=config,
                  htpasswd_users=users, name=args.name)
    # Whatever start-up prints (make_demo_db.sh, ...) goes to stderr: stdout
    # carries only the one JSON line the test reads.
    sys.stdout.flush()
    real_stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        try:
            try:
                stack.start()
            finally:
                sys.stdout.flush()
                os.dup2(real_stdout, 1)
                os.close(real_stdout)
        except BaseException as e:  # report, then clean up whatever did start
            traceback.print_exc()
            try:
                sys.stderr.write(stack.log())
            except OSError:
                pass
            print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}), flush=True)
            return 1
        print(json.dumps({"base_url": "http://127.0.0.1:%d" % stack.port, "port": stack.port,
                          "dir": stack.dir, "demo_db": os.path.join(stack.dir, "demo.db")}), flush=True)
        sys.stdin.read()  # until the test closes our stdin (or exits)
        return 0
    finally:
        stack.stop()
        # The harness caches one demo database per process in a temp dir.
        for path in list(harness._DEMO_CACHE.values()):
            shutil.rmtree(os.path.dirname(path), ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
