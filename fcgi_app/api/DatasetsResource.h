#pragma once

#include "api/ApiContext.h"
#include "server/Http.h"

#include <string>

namespace exportd {

/// GET /api/datasets: the datasets the caller may export, with their formats, columns and filters.
/// Any thread; holds no per-request state. Every resource class has this shape on
/// purpose: the ApiContext in, one method per HTTP method it answers.
class DatasetsResource {
public:
    explicit DatasetsResource(const ApiContext& context) : _context(context) {}
    Response get(const Request&, const Identity& who);

private:
    const ApiContext& _context;
};

} // namespace exportd
