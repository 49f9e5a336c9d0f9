#include "PgSchema.h"

namespace exportd::cleanup::postgresql {

namespace {

// The exports table as in the SQLite registry (sqlite/SqliteSchema.cpp), with
// PostgreSQL's types: times are epoch milliseconds, which overflow `integer`;
// the ids and instance ids compare byte by byte (COLLATE "C"), so that
// "ORDER BY id" is the same order on both registries whatever the database's
// locale.
// The download gate in one statement (PgRegistry::authorizeDownloadAt):
// the count takes the row's lock, the clock is read once it is held (in
// RETURNING), and a decision come too late undoes the count (the block's own
// subtransaction), so that a download costs one round trip and no
// BEGIN/COMMIT whose reply could be lost after the commit. `bound` is a
// test's manual clock; NULL decides with the database's clock.
const char* const GATE_BODY =
    " DECLARE expires bigint; now_ms bigint;"
    " BEGIN"
    "   BEGIN"
    "     UPDATE exports SET download_count = download_count + 1"
    "      WHERE id = gate_id AND status = 'ready' AND (bound IS NULL OR expires_at > bound)"
    "      RETURNING expires_at, COALESCE(bound, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)"
    "      INTO expires, now_ms;"
    "     IF NOT FOUND THEN RETURN false; END IF;"
    "     IF expires > now_ms THEN RETURN true; END IF;"
    "     RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'exportd: download gate closed';"
    "   EXCEPTION WHEN raise_exception THEN"
    "     RETURN false;"
    "   END;"
    " END ";

const char* const SCHEMA[] = {
    "CREATE TABLE IF NOT EXISTS exports ("
    " id text COLLATE \"C\" PRIMARY KEY,"
    " owner_key text NOT NULL DEFAULT '',"
    " list_key text COLLATE \"C\" NOT NULL DEFAULT '',"
    " limit_key text COLLATE \"C\" NOT NULL DEFAULT '',"
    " request_key text COLLATE \"C\" NOT NULL DEFAULT '',"
    " status text NOT NULL,"
    " dataset text NOT NULL DEFAULT '',"
    " format text NOT NULL DEFAULT '',"
    " filters_json text NOT NULL DEFAULT '{}',"
    " retention_seconds bigint NOT NULL DEFAULT 0,"
    " created_at bigint NOT NULL,"
    " started_at bigint,"
    " ready_at bigint,"
    " expires_at bigint,"
    " file_deleted_at bigint,"
    " deleted_at bigint,"
    " failed_at bigint,"
    " rows_written bigint NOT NULL DEFAULT 0,"
    " rows_total bigint,"
    " file_name text NOT NULL DEFAULT '',"
    " file_size_bytes bigint NOT NULL DEFAULT 0,"
    " file_rows bigint NOT NULL DEFAULT 0,"
    " file_content_type text NOT NULL DEFAULT '',"
    " file_sha256 text NOT NULL DEFAULT '',"
    " error_code text NOT NULL DEFAULT '',"
    " error_message text NOT NULL DEFAULT '',"
    " download_count bigint NOT NULL DEFAULT 0,"
    " instance_id text COLLATE \"C\" NOT NULL DEFAULT '',"
    " scheduled_by text COLLATE \"C\" NOT NULL DEFAULT '',"
    " updated_at bigint NOT NULL)",
    // The SQLite registry's indexes, for the same queries (sqlite/SqliteSchema.cpp).
    "CREATE INDEX IF NOT EXISTS exports_by_list ON exports (list_key, created_at DESC, id)",
    "CREATE INDEX IF NOT EXISTS exports_due ON exports (status, expires_at)",
    "CREATE INDEX IF NOT EXISTS exports_ready ON exports (status, ready_at)",
    "CREATE INDEX IF NOT EXISTS exports_limit ON exports (limit_key, status)",
    "CREATE INDEX IF NOT EXISTS exports_created_by_limit ON exports (limit_key, created_at)",
    "CREATE TABLE IF NOT EXISTS secrets ("
    " name text COLLATE \"C\" PRIMARY KEY,"
    " value text NOT NULL)",
    "CREATE TABLE IF NOT EXISTS instances ("
    " instance_id text COLLATE \"C\" PRIMARY KEY,"
    " heartbeat_at bigint NOT NULL)",
};

} // namespace

namespace {

// Every table, index and the gate function (with this very body) in the
// first schema of the search_path. When all are there, nothing is created:
// the database user then needs no CREATE right (README, Configuration), since
// even CREATE ... IF NOT EXISTS of an existing table asks for it.
bool schemaComplete(Connection& c)
{
    static const std::string SQL =
        "SELECT to_regclass('exports') IS NOT NULL AND to_regclass('secrets') IS NOT NULL"
        " AND to_regclass('instances') IS NOT NULL AND to_regclass('exports_by_list') IS NOT NULL"
        " AND to_regclass('exports_due') IS NOT NULL AND to_regclass('exports_ready') IS NOT NULL"
        " AND to_regclass('exports_limit') IS NOT NULL AND to_regclass('exports_created_by_limit') IS NOT NULL"
        " AND COALESCE((SELECT prosrc = $1 FROM pg_proc"
        "               WHERE oid = to_regprocedure('exportd_download_gate(text,bigint)')), false)";
    const Result r = c.exec(SQL, Params::of(std::string(GATE_BODY)));
    return r.rows() == 1 && r.boolean(0, 0);
}

} // namespace

void createSchema(Connection& c)
{
    if (schemaComplete(c)) return;
    // The lock is released at COMMIT; waiting for it (another host's DDL)
    // may take longer than a registry statement.
    const ReplyTimeout longer(c, 35000);
    c.exec("BEGIN");
    c.exec("SET LOCAL statement_timeout = '30s'");
    c.exec("SELECT pg_advisory_xact_lock(hashtext('exportd registry schema'))");
    for (const char* sql : SCHEMA) c.exec(sql);
    c.exec(std::string("CREATE OR REPLACE FUNCTION exportd_download_gate(gate_id text, bound bigint)"
                       " RETURNS boolean LANGUAGE plpgsql AS $exportd$")
           + GATE_BODY + "$exportd$");
    c.exec("COMMIT");
}

} // namespace exportd::cleanup::postgresql
