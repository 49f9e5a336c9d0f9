#pragma once

#include "api/ApiContext.h"
#include "server/Http.h"

#include <string>

namespace exportd {

/// GET /api/health: the registry and the exports directory, for load balancers and monitoring; no details of a failure beyond a word (they go to the log).
/// Any thread; holds no per-request state. Every resource class has this shape on
/// purpose: the ApiContext in, one method per HTTP method it answers.
class HealthResource {
public:
    explicit HealthResource(const ApiContext& context) : _context(context) {}
    Response get(const Request&);

private:
    const ApiContext& _context;
};

} // namespace exportd
