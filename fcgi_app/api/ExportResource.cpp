#include "api/ExportResource.h"

#include "api/ExportRenderer.h"
#include "api/HandlerSupport.h"
#include "cleanup/MetricFamilies.h"
#include "cleanup/ExportId.h"

#include <Poco/Logger.h>

namespace exportd {

using cleanup::ExportRecord;
using cleanup::ExportStatus;
using cleanup::ExportView;
using cleanup::Millis;

Response ExportResource::get(const Request&, const Identity& who, const std::string& id)
{
    const ExportRecord record = findOwned(_context, id, who);
    const Millis now = _context.clock.nowMs();
    Response response = ExportRenderer::response(200, record, now);
    const auto status = record.effectiveStatus(now);
    if (status == ExportStatus::Queued || status == ExportStatus::Running)
        response.setHeader("Retry-After", "1");
    return response;
}

Response ExportResource::remove(const Request& request, const Identity& who, const std::string& id)
{
    requireJsonOrEmptyBody(request, _context.config.maxBodyBytes);
    ExportRecord record = findOwned(_context, id, who);
    const Millis now = _context.clock.nowMs();
    if (_context.registry.markDeleted(id, now)) {
        _context.runner.cancel(id);
        bool removed = false;
        for (const std::string& name : {id, cleanup::partFileName(id)})
            if (_context.store.remove(name).removed)
                removed = true;
        // A running job that still writes removes its own .part when it sees the cancel.
        if (_context.registry.markFileDeleted(id, _context.clock.nowMs()) && removed)
            _context.metrics.increment(cleanup::family::FILES_DELETED, "reason=\"deleted\"");
        _context.logger.information("event=export_deleted id=%s previous_status=%s", id,
                            cleanup::toString(record.effectiveStatus(now)));
        if (auto again = _context.registry.find(id))
            record = *again;
    }
    return ExportRenderer::response(200, record, _context.clock.nowMs());
}

} // namespace exportd
