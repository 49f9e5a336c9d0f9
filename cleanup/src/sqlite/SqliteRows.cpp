#include "SqliteRows.h"

#include "RecordColumns.h"

namespace exportd::cleanup::sqlite {

const std::string RECORD_COLUMNS = RECORD_COLUMN_LIST;

const std::string SELECT_RECORDS = "SELECT " + RECORD_COLUMNS + " FROM exports ";

const std::string VIEW_COLUMNS = VIEW_COLUMN_LIST;

ExportRecord rowToRecord(const Row& row)
{
    return readRecord(row);
}

// The view reads the row's text in place (bench/RESULTS.md: the list's hot path).
ExportView rowToView(const Row& row)
{
    return readView(row);
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
