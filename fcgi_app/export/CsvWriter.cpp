#include "export/CsvWriter.h"

#include "export/CellText.h"

namespace exportd {

namespace {

// Per byte: 1 = the field must be quoted, 2 = not ASCII (check the UTF-8).
struct CsvClasses {
    unsigned char c[256] = {};
    CsvClasses()
    {
        c[static_cast<unsigned char>(',')] = c[static_cast<unsigned char>('"')] = 1;
        c[static_cast<unsigned char>('\r')] = c[static_cast<unsigned char>('\n')] = 1;
        // `;` is the list separator of Excel in many locales, TAB that of
        // tab-separated readings: unquoted, either would start a new cell.
        c[static_cast<unsigned char>(';')] = c[static_cast<unsigned char>('\t')] = 1;
        for (int i = 0x80; i < 256; ++i)
            c[i] = 2;
    }
};
const CsvClasses CSV_CLASSES;

bool startsFormula(char c) { return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r'; }

bool splitsCells(char c) { return c == ';' || c == '\t' || c == '\r' || c == '\n'; }

// A reader that splits on `;` or TAB (or one that ignores the quotes of a field
// not at the start of its line) starts a new cell after each of these
// characters, quotes or not: a formula there gets the same leading `'` as one
// at the start of the field (README "Export files").
std::string guardInnerCells(std::string_view t)
{
    std::string out;
    out.reserve(t.size() + 8);
    for (std::size_t i = 0; i < t.size(); ++i) {
        out += t[i];
        if (splitsCells(t[i]) && i + 1 < t.size() && startsFormula(t[i + 1]))
            out += '\'';
    }
    return out;
}

} // namespace

void appendCsvField(std::string& out, const Cell& cell, bool formulaGuard)
{
    switch (cell.type) {
    case Cell::Type::Null: return;
    case Cell::Type::Integer: appendInteger(out, cell.integer); return;
    case Cell::Type::Real: appendReal(out, cell.real, ""); return;
    case Cell::Type::Boolean: out += cell.integer ? "true" : "false"; return;
    case Cell::Type::Numeric: out.append(cell.text); return; // digits, '.', '-', "NaN", "Infinity": nothing to quote
    // Dates, times and JSON are text: quoted and guarded as any text ("-infinity", a JSON "-5").
    case Cell::Type::Text:
    case Cell::Type::Date:
    case Cell::Type::Timestamp:
    case Cell::Type::Json: break;
    }
    const std::string_view t = cell.text;
    unsigned flags = 0;
    for (unsigned char ch : t)
        flags |= CSV_CLASSES.c[ch];
    const bool guarded = formulaGuard && !t.empty() && startsFormula(t[0]);
    const bool quoted = flags & 1;
    if (quoted)
        out += '"';
    if (guarded)
        out += '\'';
    if (flags == 0)
        out.append(t.data(), t.size());
    else if (formulaGuard && quoted)
        appendUtf8(out, guardInnerCells(t), quoted);
    else
        appendUtf8(out, t, quoted);
    if (quoted)
        out += '"';
}

void CsvWriter::writeHeader(const std::vector<std::string>& columns)
{
    std::string& out = _sink.buffer();
    Cell cell;
    cell.type = Cell::Type::Text;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (i)
            out += ',';
        cell.text = columns[i];
        appendCsvField(out, cell, false);
    }
    out += "\r\n";
    _sink.flushIfFull();
}

void CsvWriter::writeRow(const std::vector<Cell>& cells)
{
    std::string& out = _sink.buffer();
    for (std::size_t i = 0; i < cells.size(); ++i) {
        if (i)
            out += ',';
        appendCsvField(out, cells[i], _formulaGuard);
    }
    out += "\r\n";
    _sink.flushIfFull();
}

} // namespace exportd
