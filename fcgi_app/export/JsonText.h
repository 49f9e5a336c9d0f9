#pragma once

#include <json/value.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace exportd {

/// Strict JSON parsing shared by datasets.json and request bodies: one root
/// object, no comments, no trailing garbage, no duplicate keys, nesting at
/// most `depthLimit`, valid UTF-8 only (in the bytes and in every decoded
/// string and key, so an escaped lone surrogate is refused too). Returns false
/// with a sentence in `error`. Thread-safe.
bool parseStrictJson(std::string_view text, Json::Value& root, std::string& error,
                     unsigned depthLimit = 64);
/// The same rules for a document whose root may be any JSON value.
bool parseStrictJsonValue(std::string_view text, Json::Value& root, std::string& error,
                          unsigned depthLimit = 64);

/// True if `text` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool isValidUtf8(std::string_view text);

/// Length of the well-formed UTF-8 sequence starting at p (1 to 4), or 0 if
/// the bytes there are not one.
std::size_t utf8SequenceLength(const unsigned char* p, const unsigned char* end);

/// Compact JSON text (no spaces, keys sorted, UTF-8 emitted as is).
std::string compactJson(const Json::Value& value);

/// Appends JSON text to a string through a pointer into room it makes ahead,
/// so a piece costs a bounds check and a copy, not a call into std::string
/// (the export object is written on every status poll and for every row of
/// the page's list: bench/RESULTS.md). The string holds what was written when
/// the writer goes out of scope.
class JsonTextWriter {
public:
    /// `expected`: about how much will be written (more is fine, it grows).
    JsonTextWriter(std::string& out, std::size_t expected);
    ~JsonTextWriter();
    JsonTextWriter(const JsonTextWriter&) = delete;
    JsonTextWriter& operator=(const JsonTextWriter&) = delete;

    void raw(char c)
    {
        room(1);
        *_p++ = c;
    }
    void raw(std::string_view text)
    {
        room(text.size());
        std::memcpy(_p, text.data(), text.size());
        _p += text.size();
    }
    /// A JSON string as jsoncpp writes it with emitUTF8: `"`, `\` and control
    /// characters escaped (\b \f \n \r \t, else \u00XX), every other byte as is.
    void quoted(std::string_view text);
    void integer(std::int64_t n);
    /// Quoted RFC 3339 UTC time with milliseconds (cleanup::formatRfc3339).
    void time(std::int64_t epochMs);

private:
    void room(std::size_t n)
    {
        if (static_cast<std::size_t>(_end - _p) < n)
            grow(n);
    }
    void grow(std::size_t n);

    std::string& _out;
    char* _p;
    char* _end;
};

} // namespace exportd
