#pragma once

#include <json/value.h>

#include <cstddef>
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

/// True if `text` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool isValidUtf8(std::string_view text);

/// Length of the well-formed UTF-8 sequence starting at p (1 to 4), or 0 if
/// the bytes there are not one.
std::size_t utf8SequenceLength(const unsigned char* p, const unsigned char* end);

/// Compact JSON text (no spaces, keys sorted, UTF-8 emitted as is).
std::string compactJson(const Json::Value& value);

} // namespace exportd
