#include "export/XlsxWriter.h"

#include "export/CellText.h"
#include "export/DateTime.h"
#include "export/FileSink.h"

#include <Poco/Path.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace exportd {

namespace {

constexpr std::int64_t WIDTH_SAMPLE_ROWS = 100;
constexpr double MIN_WIDTH = 8;
constexpr double MAX_WIDTH = 60;
constexpr double DATE_WIDTH = 20;
constexpr std::size_t MAX_CELL_CHARS = 32767; // Excel's limit for a cell's text
constexpr double EXACT_DOUBLE_LIMIT = 9007199254740992.0; // 2^53

std::size_t utf8Chars(std::string_view s)
{
    std::size_t n = 0;
    for (unsigned char c : s)
        n += (c & 0xC0) != 0x80;
    return n;
}

// Excel serial day number (1900 system) of UTC epoch seconds.
double excelSerial(std::int64_t epochSeconds) { return 25569.0 + static_cast<double>(epochSeconds) / 86400.0; }

// XML 1.0 cannot carry most C0 controls; Excel's own escape for them is _xHHHH_.
void escapeControls(std::string& s)
{
    static const char HEX[] = "0123456789ABCDEF";
    if (std::none_of(s.begin(), s.end(), [](char c) {
            auto u = static_cast<unsigned char>(c);
            return u < 0x20 && u != '\t' && u != '\n' && u != '\r';
        }))
        return;
    std::string out;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 && u != '\t' && u != '\n' && u != '\r') {
            out += "_x00";
            out += HEX[u >> 4];
            out += HEX[u & 15];
            out += '_';
        } else {
            out += c;
        }
    }
    s.swap(out);
}

// Excel's 1900 date system counts 1900-02-29, a day that never was: serials
// before 1900-03-01 are a day off, and negative ones are not dates at all.
constexpr std::int64_t FIRST_EXACT_EXCEL_SECONDS = -2203891200LL; // 1900-03-01T00:00:00Z

// Excel serial of an RFC 3339 instant or a "YYYY-MM-DD" date, when Excel shows
// it as that same instant; nullopt for what stays text ("infinity", BC, ...).
std::optional<double> excelSerialOf(std::string_view text)
{
    const auto bound = parseDateBound(text);
    if (!bound || bound->seconds < FIRST_EXACT_EXCEL_SECONDS)
        return std::nullopt;
    return excelSerial(bound->seconds) + static_cast<double>(bound->nanos) / 1e9 / 86400.0;
}

// `digits` without the zeros that do not change its value ("1.50" -> "1.5",
// "2.0" -> "2", "-0" -> "0").
std::string_view canonicalDecimal(std::string_view digits)
{
    if (digits.find('.') != std::string_view::npos) {
        while (digits.back() == '0')
            digits.remove_suffix(1);
        if (digits.back() == '.')
            digits.remove_suffix(1);
    }
    return digits == "-0" ? std::string_view("0") : digits;
}

// The number as a double when that double shows exactly it: its shortest
// decimal is the same number (a float's text, "1e+20", always is; a numeric's
// "0.1" is, "12345678901234567890.1" is not). Else nullopt: the cell keeps
// the text, every digit.
std::optional<double> exactDouble(std::string_view number)
{
    double value = 0;
    const auto parsed = std::from_chars(number.data(), number.data() + number.size(), value);
    if (parsed.ec != std::errc() || parsed.ptr != number.data() + number.size() || !std::isfinite(value))
        return std::nullopt;
    char buf[400];
    auto printed = std::to_chars(buf, buf + sizeof buf, value);
    if (printed.ec == std::errc() && std::string_view(buf, static_cast<std::size_t>(printed.ptr - buf)) == number)
        return value;
    printed = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed);
    if (printed.ec == std::errc()
        && canonicalDecimal(std::string_view(buf, static_cast<std::size_t>(printed.ptr - buf)))
               == canonicalDecimal(number))
        return value;
    return std::nullopt;
}

} // namespace

XlsxWriter::XlsxWriter(cleanup::FileStore& store, const std::string& name, const WriterOptions& options)
    : _store(store), _name(name), _options(options)
{
    // Claimed like the other writers' files (exclusive, 0640); libxlsxwriter
    // rewrites this file in place at workbook_close().
    try {
        _path = store.createLocal(name);
    } catch (const cleanup::StoreError& e) {
        throw WriteError(e);
    }
    _tmpdir = Poco::Path(_path).parent().toString();
    const std::string& path = _path;
    lxw_workbook_options opts{};
    opts.constant_memory = LXW_TRUE;
    opts.tmpdir = _tmpdir.empty() ? nullptr : _tmpdir.data();
    _workbook = workbook_new_opt(path.c_str(), &opts);
    if (!_workbook)
        throw WriteError("cannot create the XLSX workbook " + path, false);
    _sheet = workbook_add_worksheet(_workbook, nullptr);
    _bold = workbook_add_format(_workbook);
    format_set_bold(_bold);
    _dateFormat = workbook_add_format(_workbook);
    format_set_num_format(_dateFormat, "yyyy-mm-dd hh:mm:ss");
    _dayFormat = workbook_add_format(_workbook);
    format_set_num_format(_dayFormat, "yyyy-mm-dd");
    if (!_sheet || !_bold || !_dateFormat || !_dayFormat)
        throw WriteError("cannot set up the XLSX workbook " + path, false);
}

XlsxWriter::~XlsxWriter()
{
    if (_workbook) {
        // Abandoned (failure or cancel): the caller removes the file. Free the
        // workbook without assembling the zip (workbook_close would write it
        // all); lxw_workbook_free leaves the constant-memory temp file open
        // (it is already unlinked), so close that first.
        if (_sheet && _sheet->optimize_tmpfile) {
            std::fclose(_sheet->optimize_tmpfile);
            _sheet->optimize_tmpfile = nullptr;
        }
        lxw_workbook_free(_workbook);
    }
}

void XlsxWriter::check(lxw_error err, const char* what)
{
    if (err == LXW_NO_ERROR)
        return;
    int savedErrno = errno;
    bool full = savedErrno == ENOSPC || savedErrno == EDQUOT;
    throw WriteError(std::string("XLSX ") + what + ": " + lxw_strerror(err), full);
}

void XlsxWriter::noteWidth(std::size_t col, std::size_t chars)
{
    if (col < _widths.size())
        _widths[col] = std::max(_widths[col], std::min(MAX_WIDTH, static_cast<double>(chars) + 2));
}

void XlsxWriter::writeText(lxw_col_t col, std::string_view text)
{
    _scratch.clear();
    appendUtf8(_scratch, text);
    escapeControls(_scratch);
    if (utf8Chars(_scratch) > MAX_CELL_CHARS) {
        std::size_t chars = 0, i = 0;
        for (; i < _scratch.size(); ++i)
            if ((static_cast<unsigned char>(_scratch[i]) & 0xC0) != 0x80 && ++chars > MAX_CELL_CHARS)
                break;
        _scratch.resize(i);
    }
    if (_row <= WIDTH_SAMPLE_ROWS)
        noteWidth(col, utf8Chars(_scratch));
    check(worksheet_write_string(_sheet, _row, col, _scratch.c_str(), nullptr), "write");
}

void XlsxWriter::writeHeader(const std::vector<std::string>& columns)
{
    _widths.assign(columns.size(), MIN_WIDTH);
    _isDate.assign(columns.size(), false);
    for (std::size_t i = 0; i < columns.size(); ++i) {
        _isDate[i] = std::find(_options.dateColumns.begin(), _options.dateColumns.end(), columns[i])
            != _options.dateColumns.end();
        if (_isDate[i])
            _widths[i] = DATE_WIDTH;
        _scratch.clear();
        appendUtf8(_scratch, columns[i]);
        escapeControls(_scratch);
        noteWidth(i, utf8Chars(_scratch) + 1); // bold is a little wider
        check(worksheet_write_string(_sheet, 0, static_cast<lxw_col_t>(i), _scratch.c_str(), _bold), "header");
    }
    worksheet_freeze_panes(_sheet, 1, 0);
    _row = 1;
}

void XlsxWriter::writeRow(const std::vector<Cell>& cells)
{
    if (_row > MAX_DATA_ROWS)
        throw WriteError("an XLSX sheet holds at most 1,048,575 data rows", false);
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const Cell& cell = cells[i];
        const auto col = static_cast<lxw_col_t>(i);
        const bool isDate = i < _isDate.size() && _isDate[i];
        switch (cell.type) {
        case Cell::Type::Null: break;
        case Cell::Type::Integer:
            if (isDate) { // a timestamp column: epoch seconds
                check(worksheet_write_number(_sheet, _row, col, excelSerial(cell.integer), _dateFormat), "write");
            } else if (std::abs(static_cast<double>(cell.integer)) < EXACT_DOUBLE_LIMIT) {
                check(worksheet_write_number(_sheet, _row, col, static_cast<double>(cell.integer), nullptr),
                      "write");
                if (_row <= WIDTH_SAMPLE_ROWS)
                    noteWidth(i, 21);
            } else { // Excel numbers are doubles: keep every digit as text
                std::string digits;
                appendInteger(digits, cell.integer);
                writeText(col, digits);
            }
            break;
        case Cell::Type::Real:
            check(worksheet_write_number(_sheet, _row, col, cell.real, nullptr), "write");
            break;
        case Cell::Type::Boolean:
            check(worksheet_write_boolean(_sheet, _row, col, cell.integer != 0, nullptr), "write");
            break;
        case Cell::Type::Numeric:
            if (auto exact = exactDouble(cell.text)) {
                check(worksheet_write_number(_sheet, _row, col, *exact, nullptr), "write");
                if (_row <= WIDTH_SAMPLE_ROWS)
                    noteWidth(i, cell.text.size());
            } else {
                writeText(col, cell.text);
            }
            break;
        case Cell::Type::Date:
        case Cell::Type::Timestamp:
            if (auto serial = excelSerialOf(cell.text)) {
                lxw_format* format = cell.type == Cell::Type::Date ? _dayFormat : _dateFormat;
                check(worksheet_write_number(_sheet, _row, col, *serial, format), "write");
                if (_row <= WIDTH_SAMPLE_ROWS)
                    noteWidth(i, DATE_WIDTH - 2);
            } else {
                writeText(col, cell.text);
            }
            break;
        case Cell::Type::Json: writeText(col, cell.text); break;
        case Cell::Type::Text:
            if (isDate) {
                if (auto secs = parseIsoUtcSeconds(cell.text)) {
                    check(worksheet_write_number(_sheet, _row, col, excelSerial(*secs), _dateFormat), "write");
                    break;
                }
            }
            writeText(col, cell.text);
            break;
        }
    }
    ++_row;
}

void XlsxWriter::finish()
{
    for (std::size_t i = 0; i < _widths.size(); ++i)
        check(worksheet_set_column(_sheet, static_cast<lxw_col_t>(i), static_cast<lxw_col_t>(i), _widths[i], nullptr),
              "column width");
    lxw_workbook* wb = _workbook;
    _workbook = nullptr;
    errno = 0;
    check(workbook_close(wb), "close");
    try {
        _bytes = _store.finishLocal(_name);
    } catch (const cleanup::StoreError& e) {
        throw WriteError(e);
    }
    _sha256 = sha256OfFile(_path);
}

} // namespace exportd
