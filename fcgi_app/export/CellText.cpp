#include "export/CellText.h"

#include "export/JsonText.h"

#include <charconv>
#include <cmath>

namespace exportd {

void appendInteger(std::string& out, std::int64_t value)
{
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

void appendReal(std::string& out, double value, std::string_view nonFinite)
{
    if (!std::isfinite(value)) {
        out.append(nonFinite);
        return;
    }
    char buf[40];
    auto r = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

void appendUtf8(std::string& out, std::string_view text, bool doubleQuotes)
{
    auto p = reinterpret_cast<const unsigned char*>(text.data());
    auto end = p + text.size();
    auto run = p;
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            if (c == '"' && doubleQuotes) {
                out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p + 1 - run));
                out += '"';
                run = ++p;
                continue;
            }
            ++p;
            continue;
        }
        std::size_t n = utf8SequenceLength(p, end);
        if (n == 0) {
            out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
            out.append("\xEF\xBF\xBD");
            run = ++p;
        } else {
            p += n;
        }
    }
    out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(end - run));
}

} // namespace exportd
