#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace exportd {

/// At most `max_source_connections` connections at once to each PostgreSQL
/// source (keyed by its URI), shared by every export job of the process: a
/// job that finds them all taken waits for one, still `running`, still
/// cancellable. Thread-safe; lives as long as the ExportRunner that owns it.
class SourceSlots {
public:
    /// A held connection slot, given back when destroyed. Movable.
    class Slot {
    public:
        Slot() = default;
        Slot(SourceSlots* owner, std::string source) : _owner(owner), _source(std::move(source)) {}
        Slot(Slot&& other) noexcept : _owner(other._owner), _source(std::move(other._source)) { other._owner = nullptr; }
        Slot& operator=(Slot&&) = delete;
        Slot(const Slot&) = delete;
        ~Slot();

    private:
        SourceSlots* _owner = nullptr;
        std::string _source;
    };

    explicit SourceSlots(int maxPerSource) : _max(maxPerSource < 1 ? 1 : maxPerSource) {}

    /// Waits until fewer than the maximum are held for `source`, calling
    /// `checkStop` at least every 100 ms meanwhile (it throws to give up).
    Slot acquire(const std::string& source, const std::function<void()>& checkStop);
    /// Slots held now for `source`.
    int held(const std::string& source) const;

private:
    void release(const std::string& source);

    const int _max;
    mutable std::mutex _mutex;
    std::condition_variable _freed;
    std::map<std::string, int> _held;
};

} // namespace exportd
