#include "api/MetricsResource.h"

#include "api/Storage.h"
#include "cleanup/MetricFamilies.h"

#include <Poco/Logger.h>

namespace exportd {

using cleanup::ExportRecord;
using cleanup::ExportStatus;
using cleanup::ExportView;
using cleanup::Millis;

Response MetricsResource::get(const Request&)
{
    const StoreUsage usage = storeUsage(_context.store);
    _context.metrics.set(cleanup::family::EXPORT_FILES, "", double(usage.files));
    _context.metrics.set(cleanup::family::EXPORT_BYTES, "", double(usage.bytes));
    const Millis now = _context.clock.nowMs();
    if (const auto aligned = _context.clock.alignment()) {
        _context.metrics.set(cleanup::family::REGISTRY_CLOCK_OFFSET, "", double(aligned->offsetUs) / 1e6);
        _context.metrics.set(cleanup::family::REGISTRY_CLOCK_AGE, "", double(aligned->ageMs) / 1000.0);
    }
    try {
        _context.metrics.set(cleanup::family::PENDING_CLEANUPS, "", double(_context.registry.countPendingCleanups()));
        auto oldest = _context.registry.oldestOverdue(now);
        _context.metrics.set(cleanup::family::OLDEST_OVERDUE_FILE, "", oldest ? double(now - *oldest) / 1000.0 : 0.0);
    } catch (const cleanup::RegistryError& e) {
        _context.logger.warning("event=metrics_registry_error error=\"%s\"", std::string(e.what()));
    }
    Response r;
    r.status = 200;
    r.setHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r.body = _context.metrics.render();
    return r;
}

} // namespace exportd
