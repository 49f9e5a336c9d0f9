#!/usr/bin/env python3
"""Deletion lag of 1,000 exports expiring within the same few seconds, through the
real stack (nginx + exportd), read from the registry: file_deleted_at - expires_at.

    EXPORTD_BUILD_DIR=build python3 bench/core_lag.py [COUNT]
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from harness import Stack, wait_until  # noqa: E402


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    stack = Stack(retention=5, sweep=30, rows=20000, name="lag",
                  config={"max_active_exports_per_owner": count + 10, "export_threads": 2,
                          "max_queued_exports": count + 10, "max_exports_per_owner_per_minute": 0}).start()
    try:
        c = stack.client()
        started = time.monotonic()
        for i in range(count):
            r = c.create({"dataset": "orders", "filters": {"total_cents": {"min": 1000 + i, "max": 1000 + i}}})
            assert r.status == 202, r
        created = time.monotonic() - started
        wait_until(lambda: stack.registry_query(
            "SELECT count(*) FROM exports WHERE file_deleted_at IS NULL") == "0", 120, 0.2,
            what="every file deleted")
        rows = stack.registry_query("SELECT file_deleted_at - expires_at, expires_at FROM exports")
        lags = [int(line.split("|")[0]) for line in rows.splitlines()]
        spread = [int(line.split("|")[1]) for line in rows.splitlines()]
        left = stack.export_files()
        print("exports: %d created in %.1f s; expiries spread over %.1f s" %
              (count, created, (max(spread) - min(spread)) / 1000.0))
        print("deletion lag (ms): p50 %d  p99 %d  max %d  mean %.1f" %
              (percentile(lags, 50), percentile(lags, 99), max(lags), statistics.mean(lags)))
        print("files left: %d" % len(left))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
