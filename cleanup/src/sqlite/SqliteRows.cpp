#include "SqliteRows.h"

namespace exportd::cleanup::sqlite {

const std::string RECORD_COLUMNS =
    "id, owner_key, list_key, limit_key, request_key, status, dataset, format, filters_json,"
    " retention_seconds, created_at, started_at, ready_at, expires_at, file_deleted_at,"
    " deleted_at, failed_at, rows_written, rows_total, file_name, file_size_bytes, file_rows,"
    " file_content_type, file_sha256, error_code, error_message, download_count, instance_id,"
    " scheduled_by";

const std::string SELECT_RECORDS = "SELECT " + RECORD_COLUMNS + " FROM exports ";

const std::string VIEW_COLUMNS =
    "id, status, dataset, format, filters_json, retention_seconds, created_at, started_at, ready_at,"
    " expires_at, file_deleted_at, deleted_at, failed_at, rows_written, rows_total, file_name,"
    " file_size_bytes, file_rows, file_content_type, file_sha256, error_code, error_message, download_count";

ExportRecord rowToRecord(const Row& row)
{
    ExportRecord r;
    r.id = row.text(0);
    r.ownerKey = row.text(1);
    r.listKey = row.text(2);
    r.limitKey = row.text(3);
    r.requestKey = row.text(4);
    r.status = statusFromString(row.text(5));
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

// The same columns as rowToRecord, read as views: the two shapes of a row
// (owned record, borrowed view for the list's hot path, bench/RESULTS.md).
ExportView rowToView(const Row& row)
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

std::vector<ExportRecord> records(Statement& st)
{
    std::vector<ExportRecord> out;
    while (st.step()) out.push_back(rowToRecord(st.row()));
    return out;
}

void insertRecord(Connection& c, const ExportRecord& rec)
{
    static const std::string sql = "INSERT INTO exports (" + RECORD_COLUMNS + ", updated_at) VALUES "
                                   "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    Statement st(c.db(), sql);
    st.bindAll(rec.id, rec.ownerKey, rec.listKey, rec.limitKey, rec.requestKey, toString(rec.status), rec.dataset,
               rec.format, rec.filtersJson.empty() ? std::string("{}") : rec.filtersJson, rec.retentionSeconds,
               rec.createdAt, rec.startedAt, rec.readyAt, rec.expiresAt, rec.fileDeletedAt, rec.deletedAt,
               rec.failedAt, rec.rowsWritten, rec.rowsTotal, rec.file.name, rec.file.sizeBytes, rec.file.rows,
               rec.file.contentType, rec.file.sha256, rec.errorCode, rec.errorMessage, rec.downloadCount,
               rec.instanceId, rec.scheduledBy, rec.createdAt);
    st.execute();
}

} // namespace exportd::cleanup::sqlite
