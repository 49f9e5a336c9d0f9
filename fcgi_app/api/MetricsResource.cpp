#include "api/MetricsResource.h"

#include "api/Storage.h"
#include <Poco/Logger.h>

namespace exportd {

using cleanup::ExportRecord;
using cleanup::ExportStatus;
using cleanup::ExportView;
using cleanup::Millis;

Response MetricsResource::get(const Request&)
{
    const DirUsage usage = directoryUsage(_context.config.exportsDir);
    _context.metrics.set("exportd_export_files", "", double(usage.files));
    _context.metrics.set("exportd_export_bytes", "", double(usage.bytes));
    const Millis now = _context.clock.nowMs();
    try {
        _context.metrics.set("exportd_pending_cleanups", "", double(_context.registry.countPendingCleanups()));
        auto oldest = _context.registry.oldestOverdue(now);
        _context.metrics.set("exportd_oldest_overdue_file_seconds", "", oldest ? double(now - *oldest) / 1000.0 : 0.0);
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
