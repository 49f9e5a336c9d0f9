#pragma once

#include "api/ApiContext.h"
#include "server/Http.h"

#include <string>

namespace exportd {

/// /api/exports, the collection: POST starts an export, GET lists the caller's exports (newest first, ?limit=1..500).
/// Any thread; holds no per-request state. Every resource class has this shape on
/// purpose: the ApiContext in, one method per HTTP method it answers.
class ExportsResource {
public:
    explicit ExportsResource(const ApiContext& context) : _context(context) {}
    Response create(const Request& request, const Identity& who);
    Response list(const Request& request, const Identity& who);

private:
    const ApiContext& _context;
};

} // namespace exportd
