#pragma once

#include "export/RowWriter.h"

#include "cleanup/FileStore.h"

#include <xlsxwriter.h>

namespace exportd {

/// XLSX through libxlsxwriter in constant-memory mode (its temp files live
/// beside the output file): one sheet, a bold frozen header row, numbers as
/// numbers, the dataset's date columns as Excel date-times, widths from the
/// header and the first rows. A PostgreSQL source's typed cells stay typed:
/// booleans as booleans, dates and times as dates, a numeric as a number when
/// the double shows exactly its decimal (else as text, every digit kept).
/// libxlsxwriter writes by path: the file is claimed at construction through
/// FileStore::createLocal() (exclusive), which gives the local path, and made
/// durable (mode 0640) by FileStore::finishLocal(); its SHA-256 is computed by
/// reading it back after workbook_close(). At most 1,048,575 data rows.
/// Used by one thread.
class XlsxWriter : public RowWriter {
public:
    static constexpr std::int64_t MAX_DATA_ROWS = LXW_ROW_MAX - 1;

    XlsxWriter(cleanup::FileStore& store, const std::string& name, const WriterOptions& options);
    ~XlsxWriter() override;
    void writeHeader(const std::vector<std::string>& columns) override;
    void writeRow(const std::vector<Cell>& cells) override;
    void finish() override;
    std::uint64_t bytesWritten() const override { return _bytes; }
    std::string sha256() const override { return _sha256; }

private:
    void check(lxw_error err, const char* what);
    void writeText(lxw_col_t col, std::string_view text);
    void noteWidth(std::size_t col, std::size_t chars);

    cleanup::FileStore& _store;
    std::string _name;
    std::string _path; ///< where libxlsxwriter writes (the store's local path)
    std::string _tmpdir;
    WriterOptions _options;
    lxw_workbook* _workbook = nullptr;
    lxw_worksheet* _sheet = nullptr;
    lxw_format* _bold = nullptr;
    lxw_format* _dateFormat = nullptr; ///< date-times
    lxw_format* _dayFormat = nullptr;  ///< dates
    std::vector<bool> _isDate;
    std::vector<double> _widths;
    std::string _scratch;
    lxw_row_t _row = 0;
    std::uint64_t _bytes = 0;
    std::string _sha256;
};

} // namespace exportd
