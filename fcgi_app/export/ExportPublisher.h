#pragma once

#include "export/ExportJob.h"

#include "cleanup/CleanupScheduler.h"
#include "cleanup/Clock.h"
#include "cleanup/FileStore.h"
#include "cleanup/Metrics.h"
#include "cleanup/Registry.h"

#include <functional>
#include <string>

namespace exportd {

/// The step after ExportJob::write(): publishes the `.part` file as `<id>`
/// (FileStore::publish: group, mode 0640, atomic and durable), marks the
/// export ready in the registry and hands the file to the CleanupScheduler. Throws
/// WriteError, JobAbandoned (deleted meanwhile) or what `checkStop` throws;
/// `files` tells the caller which file is left to remove. Any thread.
class ExportPublisher {
public:
    ExportPublisher(cleanup::Registry& registry, cleanup::CleanupScheduler& scheduler, const cleanup::Clock& clock,
                    std::string instanceId)
        : _registry(registry), _scheduler(scheduler), _clock(clock), _instanceId(std::move(instanceId)) {}

    void publish(const cleanup::ExportRecord& record, const JobOutput& output, JobFiles& files,
                 const std::function<void()>& checkStop) const;

private:
    cleanup::Registry& _registry;
    cleanup::CleanupScheduler& _scheduler;
    const cleanup::Clock& _clock;
    std::string _instanceId;
};

} // namespace exportd
