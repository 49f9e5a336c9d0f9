#pragma once

#include "server/Http.h"

#include "cleanup/Clock.h"
#include "cleanup/Registry.h"

#include <string>

namespace exportd {

/// The one writer of the export object (docs/api.md, "The export object"):
/// every answer that carries an export, single or in a list, is written here.
/// Pure functions, any thread.
class ExportRenderer {
public:
    /// The sentences of an expired and of a deleted export.
    static const char* const EXPIRED_SENTENCE;
    static const char* const DELETED_SENTENCE;

    /// The export object at `now`, as compact JSON text.
    static std::string text(const cleanup::ExportRecord& record, cleanup::Millis now);
    /// The same, appended to `out`.
    static void append(std::string& out, const cleanup::ExportView& record, cleanup::Millis now);
    /// `status` with the export object as body (application/json).
    static Response response(int status, const cleanup::ExportRecord& record, cleanup::Millis now);
};

/// `status` with `text` (compact JSON) and a final newline as body, Content-Type application/json.
Response jsonTextResponse(int status, std::string text);

} // namespace exportd
