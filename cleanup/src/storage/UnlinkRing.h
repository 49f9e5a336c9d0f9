#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace exportd::cleanup {

/// Unlinks files through io_uring: the thread that submits never waits for the
/// disk. On a filesystem mounted with `discard` an unlink waits for the disk
/// to trim the file's blocks (about 100 us each here, so one thread unlinking
/// in turn tops out near 10,000 files a second), while the kernel's io_uring
/// workers run several at once (bench/RESULTS.md). The directory store's
/// BatchRemover (DirectoryStore.cpp), used by one thread: not thread-safe.
class UnlinkRing {
public:
    /// A ring for up to `capacity` unlinks in flight, run by at most
    /// `maxWorkers` kernel workers; nullptr (with the reason in `why`) when the
    /// kernel or a sandbox refuses io_uring or its unlinkat.
    static std::unique_ptr<UnlinkRing> open(unsigned capacity, unsigned maxWorkers, std::string& why);
    ~UnlinkRing();
    UnlinkRing(const UnlinkRing&) = delete;
    UnlinkRing& operator=(const UnlinkRing&) = delete;

    /// Starts unlinking `path` (which must stay valid until its result is
    /// reaped); `tag` comes back with the result. Requires inFlight() < capacity().
    /// Returns false, with nothing started, if the kernel refused the submission.
    bool submit(const char* path, std::uint64_t tag);

    struct Result {
        std::uint64_t tag;
        int error; ///< 0, or the errno of the unlink
    };
    /// The unlinks finished since the last call. With `wait`, blocks until at
    /// least one has (when any is in flight).
    std::vector<Result> reap(bool wait);

    std::size_t inFlight() const { return _inFlight; }
    /// False once waiting for a completion has failed (the ring is of no more use).
    bool answering() const { return _answering; }
    std::size_t capacity() const { return _capacity; }

private:
    UnlinkRing() = default;

    io_uring _ring{};
    std::size_t _capacity = 0;
    std::size_t _inFlight = 0;
    bool _answering = true; ///< false once waiting for a completion failed
};

} // namespace exportd::cleanup
