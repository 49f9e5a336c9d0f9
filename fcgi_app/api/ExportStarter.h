#pragma once

#include "api/ApiContext.h"
#include "server/Http.h"

#include <json/value.h>

#include <cstdint>
#include <string>

namespace exportd {

/// Creating an export, shared by POST /api/exports and regenerate: the
/// filters' size, the storage checks, a place in the job queue, the registry's
/// per-owner limits and double-click rule, then the job. Any thread.
class ExportStarter {
public:
    explicit ExportStarter(const ApiContext& context) : _context(context) {}

    /// 202 with the new export (or 200 with the equal one `who` just
    /// started); throws RequestError 400, 429, 503 or 507.
    Response start(const Identity& who, const Dataset& dataset, const std::string& format,
                   const Json::Value& filters, std::int64_t retentionSeconds,
                   const std::string& requestKey) const;

private:
    const ApiContext& _context;
};

} // namespace exportd
