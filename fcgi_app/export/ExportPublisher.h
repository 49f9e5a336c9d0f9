#pragma once

#include "export/ExportJob.h"

#include "cleanup/CleanupScheduler.h"
#include "cleanup/Clock.h"
#include "cleanup/Metrics.h"
#include "cleanup/Registry.h"

#include <functional>
#include <string>

namespace exportd {

/// The step after ExportJob::write(): gives the `.part` file its group and
/// mode 0640, renames it to `<id>`, fsyncs the directory, marks the export
/// ready in the registry and hands the file to the CleanupScheduler. Throws
/// WriteError, JobAbandoned (deleted meanwhile) or what `checkStop` throws;
/// `files` tells the caller which file is left to remove. Any thread.
class ExportPublisher {
public:
    ExportPublisher(cleanup::Registry& registry, cleanup::CleanupScheduler& scheduler, const cleanup::Clock& clock,
                    std::string exportsDir, std::string instanceId, int fileGid)
        : _registry(registry), _scheduler(scheduler), _clock(clock), _exportsDir(std::move(exportsDir)),
          _instanceId(std::move(instanceId)), _fileGid(fileGid) {}

    void publish(const cleanup::ExportRecord& record, const JobOutput& output, JobFiles& files,
                 const std::function<void()>& checkStop) const;

private:
    cleanup::Registry& _registry;
    cleanup::CleanupScheduler& _scheduler;
    const cleanup::Clock& _clock;
    std::string _exportsDir;
    std::string _instanceId;
    int _fileGid;
};

} // namespace exportd
