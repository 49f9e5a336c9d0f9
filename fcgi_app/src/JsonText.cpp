#include "JsonText.h"

#include "CellText.h"

#include <json/reader.h>
#include <json/writer.h>

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

// jsoncpp 1.9.5 skips comments after some values even with allowComments
// off; '/' is never valid JSON outside a string, so look for one.
bool hasSlashOutsideStrings(std::string_view text)
{
    bool inString = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (inString) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                inString = false;
        } else if (c == '"') {
            inString = true;
        } else if (c == '/') {
            return true;
        }
    }
    return false;
}

// RFC 8259: a control character inside a string must be escaped; jsoncpp
// takes raw ones (a raw NUL or newline in a name or value).
bool hasRawControlInString(std::string_view text)
{
    bool inString = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (inString) {
            if (c < 0x20)
                return true;
            if (c == '\\')
                ++i;
            else if (c == '"')
                inString = false;
        } else if (c == '"') {
            inString = true;
        }
    }
    return false;
}

} // namespace

bool parseStrictJson(std::string_view text, Json::Value& root, std::string& error, unsigned depthLimit)
{
    if (!isValidUtf8(text)) {
        error = "The body is not valid UTF-8.";
        return false;
    }
    if (hasSlashOutsideStrings(text)) {
        error = "The body is not valid JSON (comments are not allowed).";
        return false;
    }
    if (hasRawControlInString(text)) {
        error = "The body is not valid JSON (a control character inside a string must be escaped, e.g. \\n).";
        return false;
    }
    Json::CharReaderBuilder builder;
    Json::CharReaderBuilder::strictMode(&builder.settings_);
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
    if (!root.isObject()) {
        error = "The body must be a JSON object.";
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

} // namespace exportd
