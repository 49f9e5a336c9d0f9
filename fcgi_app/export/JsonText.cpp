#include "export/JsonText.h"

#include "export/CellText.h"

#include "cleanup/Clock.h"

#include <json/reader.h>
#include <json/writer.h>

#include <algorithm>
#include <charconv>
#include <memory>

namespace exportd {

std::size_t utf8SequenceLength(const unsigned char* p, const unsigned char* end)
{
    const unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; // overlong
        else if (c == 0xED)
            hi = 0x9F; // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; // > U+10FFFF
    } else {
        return 0;
    }
    if (static_cast<std::size_t>(end - p) < n)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (std::size_t i = 2; i < n; ++i)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

bool isValidUtf8(std::string_view text)
{
    auto p = reinterpret_cast<const unsigned char*>(text.data());
    auto end = p + text.size();
    while (p < end) {
        if (*p < 0x80) {
            ++p;
            continue;
        }
        std::size_t n = utf8SequenceLength(p, end);
        if (n == 0)
            return false;
        p += n;
    }
    return true;
}

namespace {

bool stringsAreUtf8(const Json::Value& v)
{
    switch (v.type()) {
    case Json::stringValue: {
        const char* b;
        const char* e;
        v.getString(&b, &e);
        return isValidUtf8(std::string_view(b, static_cast<std::size_t>(e - b)));
    }
    case Json::arrayValue:
        for (const auto& item : v)
            if (!stringsAreUtf8(item))
                return false;
        return true;
    case Json::objectValue:
        for (auto it = v.begin(); it != v.end(); ++it)
            if (!isValidUtf8(it.name()) || !stringsAreUtf8(*it))
                return false;
        return true;
    default:
        return true;
    }
}

// What jsoncpp lets through and strict JSON does not: a comment (a `/` outside
// strings: jsoncpp skips comments) and, RFC 8259, a raw control character
// inside a string (a raw NUL or newline in a name or value). One pass that
// knows whether it is inside a string.
enum class TextFault { None, Comment, RawControl };
TextFault scanJsonText(std::string_view text)
{
    bool inString = false, rawControl = false; // a comment anywhere is said first
    for (std::size_t i = 0; i < text.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (inString) {
            if (c < 0x20)
                rawControl = true;
            if (c == '\\')
                ++i;
            else if (c == '"')
                inString = false;
        } else if (c == '"') {
            inString = true;
        } else if (c == '/') {
            return TextFault::Comment;
        }
    }
    return rawControl ? TextFault::RawControl : TextFault::None;
}

} // namespace

bool parseStrictJson(std::string_view text, Json::Value& root, std::string& error, unsigned depthLimit)
{
    if (!parseStrictJsonValue(text, root, error, depthLimit))
        return false;
    if (!root.isObject()) {
        error = "The body must be a JSON object.";
        return false;
    }
    return true;
}

bool parseStrictJsonValue(std::string_view text, Json::Value& root, std::string& error, unsigned depthLimit)
{
    if (!isValidUtf8(text)) {
        error = "The body is not valid UTF-8.";
        return false;
    }
    switch (scanJsonText(text)) {
    case TextFault::Comment:
        error = "The body is not valid JSON (comments are not allowed).";
        return false;
    case TextFault::RawControl:
        error = "The body is not valid JSON (a control character inside a string must be escaped, e.g. \\n).";
        return false;
    case TextFault::None:
        break;
    }
    Json::CharReaderBuilder builder;
    Json::CharReaderBuilder::strictMode(&builder.settings_);
    // Any JSON value is JSON: a body that is not an object is the caller's
    // "wrong shape" (invalid_request), not unparsable.
    builder.settings_["strictRoot"] = false;
    builder.settings_["stackLimit"] = depthLimit;
    std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    std::string errs;
    bool ok;
    try {
        ok = reader->parse(text.data(), text.data() + text.size(), &root, &errs);
    } catch (const std::exception& e) { // jsoncpp throws when the stack limit is exceeded
        errs = "it is nested too deeply";
        (void)e;
        ok = false;
    }
    if (!ok) {
        // jsoncpp: "* Line 1, Column 2\n  Missing '}' ...\n* Line ...": keep the first, on one line.
        std::string first = errs.substr(0, errs.find("\n* ", 1));
        std::string flat;
        for (char c : first) {
            if (c == '\n')
                c = ' ';
            if (!(c == ' ' && (flat.empty() || flat.back() == ' ')))
                flat += c;
        }
        if (flat.rfind("* ", 0) == 0)
            flat.erase(0, 2);
        while (!flat.empty() && (flat.back() == ' ' || flat.back() == '.'))
            flat.pop_back();
        // jsoncpp quotes the body (a duplicate key, say), decoded: an escaped
        // lone surrogate would make the message itself invalid UTF-8.
        std::string clean;
        appendUtf8(clean, flat);
        error = "The body is not valid JSON (" + clean + ").";
        return false;
    }
    if (!stringsAreUtf8(root)) {
        error = "The body contains a string that is not valid Unicode.";
        return false;
    }
    return true;
}

std::string compactJson(const Json::Value& value)
{
    Json::StreamWriterBuilder builder;
    builder["indentation"] = "";
    builder["emitUTF8"] = true;
    return Json::writeString(builder, value);
}

JsonTextWriter::JsonTextWriter(std::string& out, std::size_t expected) : _out(out)
{
    const std::size_t start = out.size();
    out.resize(start + expected);
    _p = &out[0] + start;
    _end = &out[0] + out.size();
}

JsonTextWriter::~JsonTextWriter()
{
    _out.resize(static_cast<std::size_t>(_p - _out.data()));
}

void JsonTextWriter::grow(std::size_t n)
{
    const auto used = static_cast<std::size_t>(_p - _out.data());
    _out.resize(std::max(2 * _out.size(), used + n));
    _p = &_out[0] + used;
    _end = &_out[0] + _out.size();
}

namespace {

// Whether any of the 8 bytes of `w` needs escaping in a JSON string: below
// 0x20, '"' or '\\' (the bit tricks of "Bit Twiddling Hacks": a byte below n,
// a byte equal to n).
bool anyToEscape(std::uint64_t w)
{
    constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    auto zeroByte = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
    return (((w - ones * 0x20) & ~w & highs) | zeroByte(w ^ (ones * '"')) | zeroByte(w ^ (ones * '\\'))) != 0;
}

bool toEscape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

} // namespace

void JsonTextWriter::quoted(std::string_view text)
{
    static const char HEX[] = "0123456789abcdef";
    room(6 * text.size() + 2); // every byte escaped as \u00XX, and the quotes
    *_p++ = '"';
    const char* in = text.data();
    const char* const end = in + text.size();
    while (in < end) {
        // A run of plain bytes, 8 at a time while it lasts, copied whole.
        const char* run = in;
        for (std::uint64_t w; end - in >= 8; in += 8) {
            std::memcpy(&w, in, 8);
            if (anyToEscape(w))
                break;
        }
        while (in < end && !toEscape(static_cast<unsigned char>(*in)))
            ++in;
        std::memcpy(_p, run, static_cast<std::size_t>(in - run));
        _p += in - run;
        if (in == end)
            break;
        const auto c = static_cast<unsigned char>(*in++);
        *_p++ = '\\';
        switch (c) {
        case '"': *_p++ = '"'; break;
        case '\\': *_p++ = '\\'; break;
        case '\b': *_p++ = 'b'; break;
        case '\f': *_p++ = 'f'; break;
        case '\n': *_p++ = 'n'; break;
        case '\r': *_p++ = 'r'; break;
        case '\t': *_p++ = 't'; break;
        default:
            *_p++ = 'u', *_p++ = '0', *_p++ = '0';
            *_p++ = HEX[c >> 4];
            *_p++ = HEX[c & 0xF];
        }
    }
    *_p++ = '"';
}

void JsonTextWriter::integer(std::int64_t n)
{
    room(20);
    _p = std::to_chars(_p, _end, n).ptr;
}

void JsonTextWriter::time(std::int64_t epochMs)
{
    room(cleanup::RFC3339_MAX + 2);
    *_p++ = '"';
    _p = cleanup::writeRfc3339(_p, epochMs);
    *_p++ = '"';
}

} // namespace exportd
