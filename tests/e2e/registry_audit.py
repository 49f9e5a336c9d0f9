"""Watches the registry from outside: SQLite triggers that record every applied
transition and every authorised download, with the time at which SQLite applied it.

The fault, multi-process and load tests install these into a running Stack's
registry (after exportd created the schema) and then count from them:
- a transition applied twice (an UPDATE of `status` or `file_deleted_at` that
  changes nothing, or overwrites `file_deleted_at`) is a bug: every state change
  must be one conditional update that only one caller wins;
- a download authorised at or after `expires_at` shows up with at_ms >= expires_at.

`at_ms` is SQLite's own wall clock ('now'), read while the writing statement
holds the registry's write lock, i.e. at the moment the change was applied.

A stack whose `registry_backend` is "postgresql" (tests/cluster/cluster.py) gets
the same tables and triggers in PostgreSQL (installed by the superuser; the
trigger functions run as their owner, SECURITY DEFINER, so that exportd's own
database user needs no right on the audit tables), with at_ms from clock_timestamp()
read in the trigger, rounded down to the millisecond. The download trigger runs
BEFORE the row is written: once the row is locked, and before the gate reads the
clock in RETURNING, so at_ms >= expires_at proves a late authorisation (an AFTER
trigger reads the clock microseconds after the gate, and blamed a download the
gate authorised just in time). A gate that refuses rolls its update back, and the
audit row with it. The checks below read the tables through the stack's psql.
"""
import os
import sqlite3

NOW_MS = "CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)"

AUDIT_SQL = [
    "CREATE TABLE IF NOT EXISTS audit_changes ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT, old_status TEXT, new_status TEXT,"
    " old_file_deleted_at INTEGER, new_file_deleted_at INTEGER, expires_at INTEGER,"
    " instance_id TEXT, scheduled_by TEXT, at_ms INTEGER)",
    "CREATE TABLE IF NOT EXISTS audit_downloads ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT, old_count INTEGER, new_count INTEGER,"
    " status TEXT, expires_at INTEGER, at_ms INTEGER)",
    # Fires for every row an UPDATE that names status or file_deleted_at touches,
    # whether or not the value changes: a re-applied transition is recorded too.
    "CREATE TRIGGER IF NOT EXISTS audit_exports_change AFTER UPDATE OF status, file_deleted_at ON exports"
    " BEGIN INSERT INTO audit_changes (id, old_status, new_status, old_file_deleted_at,"
    " new_file_deleted_at, expires_at, instance_id, scheduled_by, at_ms) VALUES (new.id, old.status,"
    " new.status, old.file_deleted_at, new.file_deleted_at, new.expires_at, new.instance_id,"
    " new.scheduled_by, " + NOW_MS + "); END",
    "CREATE TRIGGER IF NOT EXISTS audit_exports_download AFTER UPDATE OF download_count ON exports"
    " BEGIN INSERT INTO audit_downloads (id, old_count, new_count, status, expires_at, at_ms)"
    " VALUES (new.id, old.download_count, new.download_count, new.status, new.expires_at, "
    + NOW_MS + "); END",
]

# Rounded down: a cast to bigint rounds, and counted a download authorised
# 0.4 ms before expires_at as authorised at it.
PG_NOW_MS = "floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

AUDIT_SQL_POSTGRESQL = """
SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS audit_changes (
  seq bigserial PRIMARY KEY, id text, old_status text, new_status text,
  old_file_deleted_at bigint, new_file_deleted_at bigint, expires_at bigint, at_ms bigint);
CREATE TABLE IF NOT EXISTS audit_downloads (
  seq bigserial PRIMARY KEY, id text, old_count bigint, new_count bigint, status text,
  expires_at bigint, at_ms bigint);
CREATE OR REPLACE FUNCTION audit_exports_change() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  INSERT INTO audit_changes (id, old_status, new_status, old_file_deleted_at, new_file_deleted_at,
                             expires_at, at_ms)
  VALUES (NEW.id, OLD.status, NEW.status, OLD.file_deleted_at, NEW.file_deleted_at, NEW.expires_at, %(now)s);
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION audit_exports_download() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  INSERT INTO audit_downloads (id, old_count, new_count, status, expires_at, at_ms)
  VALUES (NEW.id, OLD.download_count, NEW.download_count, NEW.status, NEW.expires_at, %(now)s);
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS audit_exports_change ON exports;
CREATE TRIGGER audit_exports_change AFTER UPDATE OF status, file_deleted_at ON exports
  FOR EACH ROW EXECUTE FUNCTION audit_exports_change();
DROP TRIGGER IF EXISTS audit_exports_download ON exports;
CREATE TRIGGER audit_exports_download BEFORE UPDATE OF download_count ON exports
  FOR EACH ROW EXECUTE FUNCTION audit_exports_download();
""" % {"now": PG_NOW_MS}

# Every transition docs/api.md, Statuses allows (status before -> status after).
ALLOWED = {
    ("queued", "running"), ("queued", "failed"), ("queued", "deleted"),
    ("running", "ready"), ("running", "failed"), ("running", "deleted"),
    ("ready", "expired"), ("ready", "deleted"),
}


def connect(stack):
    db = sqlite3.connect(os.path.join(stack.dir, "registry.db"), timeout=30, isolation_level=None)
    db.execute("PRAGMA busy_timeout = 30000")
    return db


def _postgresql(stack):
    return getattr(stack, "registry_backend", "sqlite") == "postgresql"


def install(stack):
    if _postgresql(stack):
        stack.psql(AUDIT_SQL_POSTGRESQL)
        return
    db = connect(stack)
    try:
        db.execute("BEGIN IMMEDIATE")
        for sql in AUDIT_SQL:
            db.execute(sql)
        db.execute("COMMIT")
    finally:
        db.close()


def query(stack, sql, params=()):
    if _postgresql(stack):
        if params:
            raise ValueError("no parameters through psql")
        return stack.psql(sql)
    db = connect(stack)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def double_transitions(stack):
    """Row updates that re-applied a transition or made a forbidden one; [] when all is well."""
    problems = []
    seen = set()
    rows = query(stack, "SELECT seq, id, old_status, new_status, old_file_deleted_at, new_file_deleted_at"
                        " FROM audit_changes ORDER BY seq")
    for seq, eid, old, new, old_fd, new_fd in rows:
        status_change = old != new
        file_change = old_fd is None and new_fd is not None
        if old_fd is not None and new_fd != old_fd:
            problems.append("seq %d %s: file_deleted_at overwritten (%s -> %s)" % (seq, eid, old_fd, new_fd))
        if not status_change and not file_change:
            problems.append("seq %d %s: update that changed nothing (%s, file_deleted_at %s)"
                            % (seq, eid, old, old_fd))
        if status_change:
            if (old, new) not in ALLOWED:
                problems.append("seq %d %s: forbidden transition %s -> %s" % (seq, eid, old, new))
            if (eid, "status", new) in seen:
                problems.append("seq %d %s: entered %s twice" % (seq, eid, new))
            seen.add((eid, "status", new))
        if file_change:
            if (eid, "file") in seen:
                problems.append("seq %d %s: file deletion recorded twice" % (seq, eid))
            seen.add((eid, "file"))
    return problems


def transition_count(stack):
    return query(stack, "SELECT COUNT(*) FROM audit_changes")[0][0]


def late_downloads(stack):
    """Downloads the registry authorised at or after the export's expires_at.

    at_ms is SQLite's 'now' during the authorising UPDATE: the same value its
    WHERE clause sees (SQLite fixes 'now' for one sqlite3_step), so this is the
    instant the download was authorised, to the millisecond."""
    return query(stack, "SELECT id, at_ms, expires_at FROM audit_downloads"
                        " WHERE new_count > old_count AND (expires_at IS NULL OR at_ms >= expires_at)")


def download_count(stack):
    return query(stack, "SELECT COUNT(*) FROM audit_downloads WHERE new_count > old_count")[0][0]


def deletion_lateness_ms(stack, ids=None):
    """{id: file_deleted_at - expires_at} for exports that expired and whose file is recorded deleted."""
    rows = query(stack, "SELECT id, file_deleted_at - expires_at FROM exports"
                        " WHERE expires_at IS NOT NULL AND file_deleted_at IS NOT NULL AND status = 'expired'")
    out = {eid: lag for eid, lag in rows}
    if ids is not None:
        out = {eid: lag for eid, lag in out.items() if eid in ids}
    return out
