#pragma once

#include "api/ApiContext.h"
#include "server/Http.h"

#include <string>

namespace exportd {

/// GET /api/metrics: the Prometheus text of the process's metrics, with the directory and registry gauges refreshed.
/// Any thread; holds no per-request state. Every resource class has this shape on
/// purpose: the ApiContext in, one method per HTTP method it answers.
class MetricsResource {
public:
    explicit MetricsResource(const ApiContext& context) : _context(context) {}
    Response get(const Request&);

private:
    const ApiContext& _context;
};

} // namespace exportd
