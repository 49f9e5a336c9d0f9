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

// A number as the source prints it ("-12.50", "1e+20", "-2.5e-07") is a
// JSON number: an optional '-', digits without a leading zero, an optional
// fraction and exponent. "NaN" and "Infinity" are not.
bool isJsonNumber(std::string_view t)
{
    std::size_t i = 0;
    auto digits = [&] {
        const std::size_t start = i;
        while (i < t.size() && t[i] >= '0' && t[i] <= '9')
            ++i;
        return i > start;
    };
    if (i < t.size() && t[i] == '-')
        ++i;
    const std::size_t intStart = i;
    if (!digits() || (t[intStart] == '0' && i - intStart > 1))
        return false;
    if (i < t.size() && t[i] == '.') {
        ++i;
        if (!digits())
            return false;
    }
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
        ++i;
        if (i < t.size() && (t[i] == '+' || t[i] == '-'))
            ++i;
        if (!digits())
            return false;
    }
    return i == t.size();
}

// A JSON value from the source, nested as it is. The json type keeps the
// whitespace it was given, line breaks included; outside strings JSON allows
// only whitespace there, and inside strings no raw control character, so a
// CR or LF is always whitespace between tokens: a space keeps the line whole.
void appendJsonLine(std::string& out, std::string_view json)
{
    const std::size_t start = out.size();
    appendUtf8(out, json);
    for (std::size_t i = start; i < out.size(); ++i)
        if (out[i] == '\n' || out[i] == '\r')
            out[i] = ' ';
}

} // namespace

void appendJsonValue(std::string& out, const Cell& cell)
{
    switch (cell.type) {
    case Cell::Type::Null: out += "null"; return;
    case Cell::Type::Integer: appendInteger(out, cell.integer); return;
    case Cell::Type::Real: appendReal(out, cell.real, "null"); return;
    case Cell::Type::Boolean: out += cell.integer ? "true" : "false"; return;
    case Cell::Type::Numeric:
        // Every digit as the source wrote it; JSON has no NaN or Infinity.
        if (isJsonNumber(cell.text))
            out.append(cell.text);
        else
            appendJsonString(out, cell.text);
        return;
    case Cell::Type::Json: appendJsonLine(out, cell.text); return;
    case Cell::Type::Text:
    case Cell::Type::Date:
    case Cell::Type::Timestamp: appendJsonString(out, cell.text); return;
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
