#pragma once

// The exports table's two row shapes, shared by both registries (SQLite and
// PostgreSQL): a whole record (RECORD_COLUMN_LIST, readRecord) and what a
// client sees (VIEW_COLUMN_LIST, readView). `Row` is either registry's row:
// anything with view(col), text(col), integer(col) and optInteger(col).

#include "cleanup/ExportRecord.h"

namespace exportd::cleanup {

/// Column order read by readRecord().
inline constexpr const char* RECORD_COLUMN_LIST =
    "id, owner_key, list_key, limit_key, request_key, status, dataset, format, filters_json,"
    " retention_seconds, created_at, started_at, ready_at, expires_at, file_deleted_at,"
    " deleted_at, failed_at, rows_written, rows_total, file_name, file_size_bytes, file_rows,"
    " file_content_type, file_sha256, error_code, error_message, download_count, instance_id,"
    " scheduled_by";

/// Column order read by readView(): what a client sees, no more.
inline constexpr const char* VIEW_COLUMN_LIST =
    "id, status, dataset, format, filters_json, retention_seconds, created_at, started_at, ready_at,"
    " expires_at, file_deleted_at, deleted_at, failed_at, rows_written, rows_total, file_name,"
    " file_size_bytes, file_rows, file_content_type, file_sha256, error_code, error_message, download_count";

/// A row of RECORD_COLUMN_LIST, copied.
template <class Row>
ExportRecord readRecord(const Row& row)
{
    ExportRecord r;
    r.id = row.text(0);
    r.ownerKey = row.text(1);
    r.listKey = row.text(2);
    r.limitKey = row.text(3);
    r.requestKey = row.text(4);
    r.status = statusFromString(row.view(5));
    r.dataset = row.text(6);
    r.format = row.text(7);
    r.filtersJson = row.text(8);
    r.retentionSeconds = row.integer(9);
    r.createdAt = row.integer(10);
    r.startedAt = row.optInteger(11);
    r.readyAt = row.optInteger(12);
    r.expiresAt = row.optInteger(13);
    r.fileDeletedAt = row.optInteger(14);
    r.deletedAt = row.optInteger(15);
    r.failedAt = row.optInteger(16);
    r.rowsWritten = row.integer(17);
    r.rowsTotal = row.optInteger(18);
    r.file.name = row.text(19);
    r.file.sizeBytes = row.integer(20);
    r.file.rows = row.integer(21);
    r.file.contentType = row.text(22);
    r.file.sha256 = row.text(23);
    r.errorCode = row.text(24);
    r.errorMessage = row.text(25);
    r.downloadCount = row.integer(26);
    r.instanceId = row.text(27);
    r.scheduledBy = row.text(28);
    return r;
}

/// A row of VIEW_COLUMN_LIST, borrowed from the row's buffers (valid while
/// the row is): a list is rendered without copying any column.
template <class Row>
ExportView readView(const Row& row)
{
    ExportView v;
    v.id = row.view(0);
    v.status = statusFromString(row.view(1));
    v.dataset = row.view(2);
    v.format = row.view(3);
    v.filtersJson = row.view(4);
    v.retentionSeconds = row.integer(5);
    v.createdAt = row.integer(6);
    v.startedAt = row.optInteger(7);
    v.readyAt = row.optInteger(8);
    v.expiresAt = row.optInteger(9);
    v.fileDeletedAt = row.optInteger(10);
    v.deletedAt = row.optInteger(11);
    v.failedAt = row.optInteger(12);
    v.rowsWritten = row.integer(13);
    v.rowsTotal = row.optInteger(14);
    v.fileName = row.view(15);
    v.fileSizeBytes = row.integer(16);
    v.fileRows = row.integer(17);
    v.fileContentType = row.view(18);
    v.fileSha256 = row.view(19);
    v.errorCode = row.view(20);
    v.errorMessage = row.view(21);
    v.downloadCount = row.integer(22);
    return v;
}

} // namespace exportd::cleanup
