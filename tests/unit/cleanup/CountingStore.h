#pragma once

#include "cleanup/FileStore.h"

#include <atomic>
#include <cstdint>
#include <optional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace exportd::cleanup::test {

/// A FileStore that passes every call to another one and counts them, so that
/// a test can prove a class works through its store (a class that touched the
/// files itself would leave the counts at 0). Counts are read from any thread.
class CountingStore : public FileStore {
public:
    explicit CountingStore(std::unique_ptr<FileStore> inner) : _inner(std::move(inner)) {}

    std::atomic<int> creates{0};
    std::atomic<int> publishes{0};
    std::atomic<int> removes{0};      ///< remove() calls
    std::atomic<int> batchRemoves{0}; ///< removals submitted to a BatchRemover
    mutable std::atomic<int> lists{0};

    /// Removals asked of the store, one by one or in batches.
    int removals() const { return removes.load() + batchRemoves.load(); }

    std::unique_ptr<FileWriter> create(const std::string& name) override
    {
        ++creates;
        return _inner->create(name);
    }
    std::string createLocal(const std::string& name) override
    {
        ++creates;
        return _inner->createLocal(name);
    }
    std::uint64_t finishLocal(const std::string& name) override { return _inner->finishLocal(name); }
    void publish(const std::string& partName, const std::string& finalName) override
    {
        ++publishes;
        _inner->publish(partName, finalName);
    }
    Removal remove(const std::string& name) override
    {
        ++removes;
        return _inner->remove(name);
    }
    std::unique_ptr<BatchRemover> openBatchRemover(unsigned capacity, unsigned workers, std::string& why) override
    {
        auto inner = _inner->openBatchRemover(capacity, workers, why);
        if (!inner)
            return nullptr;
        return std::make_unique<CountingRemover>(*this, std::move(inner));
    }
    std::vector<StoredFile> list() const override
    {
        ++lists;
        return _inner->list();
    }
    std::optional<std::int64_t> freeBytes() const override { return _inner->freeBytes(); }
    std::string problem() const override { return _inner->problem(); }

private:
    class CountingRemover : public BatchRemover {
    public:
        CountingRemover(CountingStore& owner, std::unique_ptr<BatchRemover> inner)
            : _owner(owner), _inner(std::move(inner)) {}
        bool submit(const std::string& name, std::uint64_t tag) override
        {
            ++_owner.batchRemoves;
            return _inner->submit(name, tag);
        }
        std::vector<Result> reap(bool wait) override { return _inner->reap(wait); }
        std::size_t inFlight() const override { return _inner->inFlight(); }
        std::size_t capacity() const override { return _inner->capacity(); }
        bool answering() const override { return _inner->answering(); }

    private:
        CountingStore& _owner;
        std::unique_ptr<BatchRemover> _inner;
    };

    std::unique_ptr<FileStore> _inner;
};

} // namespace exportd::cleanup::test
