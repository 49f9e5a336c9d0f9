#include "export/ExportPublisher.h"

#include "export/RegistryRetry.h"

#include "export/Dataset.h"
#include "export/JobErrors.h"
#include "export/RowWriter.h"

namespace exportd {

void ExportPublisher::publish(const cleanup::ExportRecord& record, const JobOutput& output, JobFiles& files,
                              const std::function<void()>& checkStop) const
{
    checkStop();
    // Until publish() returns the file may have either name: remove() tries both.
    files.finalCreated = true;
    try {
        files.store.publish(files.partName, files.finalName);
    } catch (const cleanup::StoreError& e) {
        throw WriteError(e);
    }
    files.partCreated = false;

    // The file is complete: a registry away for a moment must not cost it
    // (RegistryRetry.h). Its times are taken when the registry takes them, so
    // a wait never shortens its retention nor lengthens its life.
    const auto never = [] { return false; };
    if (!retryRegistryWrite([&] { return _registry.updateProgress(record.id, output.rows, output.total); }, never))
        throw JobAbandoned("deleted");
    cleanup::FileInfo file;
    file.name = record.dataset + "-" + cleanup::formatCompactUtc(record.createdAt) + "." + extensionFor(record.format);
    file.sizeBytes = static_cast<std::int64_t>(output.bytes);
    file.rows = output.rows;
    file.contentType = contentTypeFor(record.format);
    file.sha256 = output.sha256;
    cleanup::Millis expiresAt = 0;
    const bool ready = retryRegistryWrite(
        [&] {
            const cleanup::Millis readyAt = _clock.nowMs();
            expiresAt = readyAt + record.retentionSeconds * 1000;
            return _registry.markReady(record.id, file, readyAt, expiresAt, _instanceId);
        },
        never);
    if (!ready)
        throw JobAbandoned("deleted before it was ready");
    files.finalCreated = false;
    _scheduler.schedule(record.id, expiresAt);
}

} // namespace exportd
