#pragma once

#include "api/ApiContext.h"
#include "server/Http.h"

#include <string>

namespace exportd {

/// /api/exports/{id}, one export: GET reads it, DELETE deletes its file and marks it deleted.
/// Any thread; holds no per-request state. Every resource class has this shape on
/// purpose: the ApiContext in, one method per HTTP method it answers.
class ExportResource {
public:
    explicit ExportResource(const ApiContext& context) : _context(context) {}
    Response get(const Request&, const Identity& who, const std::string& id);
    Response remove(const Request& request, const Identity& who, const std::string& id);

private:
    const ApiContext& _context;
};

} // namespace exportd
