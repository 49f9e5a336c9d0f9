#pragma once

#include "api/ApiContext.h"
#include "server/Http.h"

#include <string>

namespace exportd {

/// POST /api/exports/{id}/regenerate: a new export with the dataset, format, filters and retention of an old one.
/// Any thread; holds no per-request state. Every resource class has this shape on
/// purpose: the ApiContext in, one method per HTTP method it answers.
class RegenerateResource {
public:
    explicit RegenerateResource(const ApiContext& context) : _context(context) {}
    Response post(const Request& request, const Identity& who, const std::string& id);

private:
    const ApiContext& _context;
};

} // namespace exportd
