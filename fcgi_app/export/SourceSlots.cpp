#include "export/SourceSlots.h"

#include <chrono>

namespace exportd {

SourceSlots::Slot::~Slot()
{
    if (_owner)
        _owner->release(_source);
}

SourceSlots::Slot SourceSlots::acquire(const std::string& source, const std::function<void()>& checkStop)
{
    std::unique_lock<std::mutex> lock(_mutex);
    while (_held[source] >= _max) {
        _freed.wait_for(lock, std::chrono::milliseconds(100));
        lock.unlock();
        checkStop();
        lock.lock();
    }
    ++_held[source];
    return Slot(this, source);
}

int SourceSlots::held(const std::string& source) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto it = _held.find(source);
    return it == _held.end() ? 0 : it->second;
}

void SourceSlots::release(const std::string& source)
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (--_held[source] <= 0)
            _held.erase(source);
    }
    _freed.notify_all();
}

} // namespace exportd
