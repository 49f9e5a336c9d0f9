#include "SqliteSchema.h"

namespace exportd::cleanup::sqlite {

namespace {

const char* const SCHEMA[] = {
    "CREATE TABLE IF NOT EXISTS exports ("
    " id TEXT PRIMARY KEY,"
    " owner_key TEXT NOT NULL DEFAULT '',"
    " list_key TEXT NOT NULL DEFAULT '',"
    " limit_key TEXT NOT NULL DEFAULT '',"
    " request_key TEXT NOT NULL DEFAULT '',"
    " status TEXT NOT NULL,"
    " dataset TEXT NOT NULL DEFAULT '',"
    " format TEXT NOT NULL DEFAULT '',"
    " filters_json TEXT NOT NULL DEFAULT '{}',"
    " retention_seconds INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL,"
    " started_at INTEGER,"
    " ready_at INTEGER,"
    " expires_at INTEGER,"
    " file_deleted_at INTEGER,"
    " deleted_at INTEGER,"
    " failed_at INTEGER,"
    " rows_written INTEGER NOT NULL DEFAULT 0,"
    " rows_total INTEGER,"
    " file_name TEXT NOT NULL DEFAULT '',"
    " file_size_bytes INTEGER NOT NULL DEFAULT 0,"
    " file_rows INTEGER NOT NULL DEFAULT 0,"
    " file_content_type TEXT NOT NULL DEFAULT '',"
    " file_sha256 TEXT NOT NULL DEFAULT '',"
    " error_code TEXT NOT NULL DEFAULT '',"
    " error_message TEXT NOT NULL DEFAULT '',"
    " download_count INTEGER NOT NULL DEFAULT 0,"
    " instance_id TEXT NOT NULL DEFAULT '',"
    " scheduled_by TEXT NOT NULL DEFAULT '',"
    " updated_at INTEGER NOT NULL)",
    // The list's order (newest first, then id) straight from the index: with
    // (list_key, created_at) alone SQLite sorted every listed row, whole, in a
    // temporary b-tree, which cost more than reading them (bench/RESULTS.md).
    "DROP INDEX IF EXISTS exports_list",
    "CREATE INDEX IF NOT EXISTS exports_by_list ON exports (list_key, created_at DESC, id)",
    "CREATE INDEX IF NOT EXISTS exports_due ON exports (status, expires_at)",
    // Every process's expiry watcher reads the ready exports by ready_at
    // (Registry::pendingSince, a few times a second).
    "CREATE INDEX IF NOT EXISTS exports_ready ON exports (status, ready_at)",
    "CREATE INDEX IF NOT EXISTS exports_limit ON exports (limit_key, status)",
    // The per-owner creation rate counts an owner's records of the last window.
    "CREATE INDEX IF NOT EXISTS exports_created_by_limit ON exports (limit_key, created_at)",
    // Secrets every process of the registry shares (the session cookies' key).
    "CREATE TABLE IF NOT EXISTS secrets ("
    " name TEXT PRIMARY KEY,"
    " value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS instances ("
    " instance_id TEXT PRIMARY KEY,"
    " heartbeat_at INTEGER NOT NULL)",
};

} // namespace

void createSchema(Connection& c)
{
    for (const char* sql : SCHEMA) c.exec(sql, "create schema");
}

} // namespace exportd::cleanup::sqlite
