#include "PgRows.h"

namespace exportd::cleanup::postgresql {

const std::string SELECT_RECORDS = std::string("SELECT ") + RECORD_COLUMN_LIST + " FROM exports ";

const std::string DB_NOW_MS = "floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

std::vector<ExportRecord> records(const Result& result)
{
    std::vector<ExportRecord> out;
    out.reserve(static_cast<std::size_t>(result.rows()));
    for (int i = 0; i < result.rows(); ++i) out.push_back(readRecord(PgRow{result, i}));
    return out;
}

std::string textArray(const std::vector<std::string>& values)
{
    std::string out = "{";
    for (const std::string& v : values) {
        if (out.size() > 1) out += ',';
        out += '"';
        for (char ch : v) {
            if (ch == '"' || ch == '\\') out += '\\';
            out += ch;
        }
        out += '"';
    }
    return out + "}";
}

std::string bigintArray(const std::vector<std::int64_t>& values)
{
    std::string out = "{";
    for (std::int64_t v : values) {
        if (out.size() > 1) out += ',';
        out += std::to_string(v);
    }
    return out + "}";
}

} // namespace exportd::cleanup::postgresql
