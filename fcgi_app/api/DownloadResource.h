#pragma once

#include "api/ApiContext.h"
#include "server/Http.h"

#include <string>

namespace exportd {

/// GET and HEAD /api/exports/{id}/download: the download gate. A ready export answers with X-Accel-Redirect to nginx's internal file location; an expired or deleted one with 410 (a page for a browser).
/// Any thread; holds no per-request state. Every resource class has this shape on
/// purpose: the ApiContext in, one method per HTTP method it answers.
class DownloadResource {
public:
    explicit DownloadResource(const ApiContext& context) : _context(context) {}
    Response get(const Request& request, const Identity& who, const std::string& id);

private:
    /// 410 for an expired or deleted export: a page when a browser navigates, else JSON.
    Response gone(const Request& request, const cleanup::ExportRecord& record, cleanup::Millis now) const;
    const ApiContext& _context;
};

} // namespace exportd
