#include "export/NdjsonWriter.h"

#include "export/CellText.h"
#include "export/JsonText.h"

namespace exportd {

namespace {

// Per byte: 0 = copy, 1 = escape, 2 = not ASCII (check the UTF-8).
struct JsonClasses {
    unsigned char c[256] = {};
    JsonClasses()
    {
        for (int i = 0; i < 0x20; ++i)
            c[i] = 1;
        c[static_cast<unsigned char>('"')] = c[static_cast<unsigned char>('\\')] = 1;
        for (int i = 0x80; i < 256; ++i)
            c[i] = 2;
    }
};
const JsonClasses JSON_CLASSES;

void appendJsonString(std::string& out, std::string_view text)
{
    static const char HEX[] = "0123456789abcdef";
    out += '"';
    auto p = reinterpret_cast<const unsigned char*>(text.data());
    auto end = p + text.size();
    auto run = p;
    while (p < end) {
        unsigned char kind = JSON_CLASSES.c[*p];
        if (kind == 0) {
            ++p;
            continue;
        }
        std::size_t n = kind == 2 ? utf8SequenceLength(p, end) : 0;
        if (n > 0) {
            p += n;
            continue;
        }
        out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
        switch (*p) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (*p < 0x20) {
                out += "\\u00";
                out += HEX[*p >> 4];
                out += HEX[*p & 15];
            } else {
                out += "\xEF\xBF\xBD"; // a byte that is not UTF-8
            }
        }
        run = ++p;
    }
    out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(end - run));
    out += '"';
}

} // namespace

void appendJsonValue(std::string& out, const Cell& cell)
{
    switch (cell.type) {
    case Cell::Type::Null: out += "null"; return;
    case Cell::Type::Integer: appendInteger(out, cell.integer); return;
    case Cell::Type::Real: appendReal(out, cell.real, "null"); return;
    case Cell::Type::Text: appendJsonString(out, cell.text); return;
    }
}

void NdjsonWriter::writeHeader(const std::vector<std::string>& columns)
{
    _keys.clear();
    for (std::size_t i = 0; i < columns.size(); ++i) {
        std::string key = i ? "," : "";
        appendJsonString(key, columns[i]);
        key += ':';
        _keys.push_back(std::move(key));
    }
}

void NdjsonWriter::writeRow(const std::vector<Cell>& cells)
{
    std::string& out = _sink.buffer();
    out += '{';
    for (std::size_t i = 0; i < cells.size() && i < _keys.size(); ++i) {
        out += _keys[i];
        appendJsonValue(out, cells[i]);
    }
    out += "}\n";
    _sink.flushIfFull();
}

} // namespace exportd
