#include "storage/UnlinkRing.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

namespace exportd::cleanup {

std::unique_ptr<UnlinkRing> UnlinkRing::open(unsigned capacity, unsigned maxWorkers, std::string& why)
{
    std::unique_ptr<UnlinkRing> ring(new UnlinkRing);
    // The completion queue is twice the submission queue by default: room for
    // every unlink in flight.
    const int rc = io_uring_queue_init(capacity, &ring->_ring, 0);
    if (rc < 0) {
        why = std::string("io_uring_queue_init: ") + std::strerror(-rc);
        return nullptr;
    }
    ring->_capacity = capacity;
    // unlinkat came with Linux 5.11; a kernel without it says so here.
    io_uring_probe* probe = io_uring_get_probe_ring(&ring->_ring);
    const bool supported = probe && io_uring_opcode_supported(probe, IORING_OP_UNLINKAT);
    if (probe)
        io_uring_free_probe(probe);
    if (!supported) {
        why = "io_uring has no unlinkat on this kernel";
        return nullptr; // the destructor closes the ring
    }
    // Bounded and unbounded workers alike (Linux 5.15+; older kernels keep
    // their defaults, which are bounded by the ring's size and the CPUs).
    unsigned workers[2] = {maxWorkers, maxWorkers};
    io_uring_register_iowq_max_workers(&ring->_ring, workers);
    return ring;
}

UnlinkRing::~UnlinkRing()
{
    if (_capacity > 0) {
        // Unlinks still in flight finish in the kernel either way (it copied
        // their paths when they were submitted); wait a while for them all the
        // same, but never forever on a ring that stopped answering.
        for (int i = 0; _inFlight > 0 && i < 10000; ++i)
            if (reap(true).empty() && !_answering)
                break;
        io_uring_queue_exit(&_ring);
    }
}

bool UnlinkRing::submit(const char* path, std::uint64_t tag)
{
    io_uring_sqe* sqe = io_uring_get_sqe(&_ring);
    if (!sqe)
        return false;
    io_uring_prep_unlinkat(sqe, AT_FDCWD, path, 0);
    io_uring_sqe_set_data64(sqe, tag);
    for (;;) {
        const int rc = io_uring_submit(&_ring);
        if (rc >= 1)
            break;
        if (rc == -EINTR || rc == -EAGAIN || rc == -EBUSY)
            continue;
        // Refused (or nothing taken): the entry stays unsubmitted, so take it
        // back as a no-op that the next reap() skips.
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data64(sqe, ~std::uint64_t(0));
        ++_inFlight;
        return false;
    }
    ++_inFlight;
    return true;
}

std::vector<UnlinkRing::Result> UnlinkRing::reap(bool wait)
{
    std::vector<Result> done;
    if (_inFlight == 0)
        return done;
    io_uring_cqe* cqe = nullptr;
    // Entries a refused submit() left behind go in now (as no-ops).
    if (io_uring_sq_ready(&_ring) > 0)
        io_uring_submit(&_ring);
    if (wait) {
        int rc;
        do
            rc = io_uring_wait_cqe(&_ring, &cqe);
        while (rc == -EINTR);
        _answering = rc >= 0;
        if (rc < 0)
            return done;
    }
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&_ring, head, cqe)
    {
        ++seen;
        const std::uint64_t tag = io_uring_cqe_get_data64(cqe);
        if (tag != ~std::uint64_t(0))
            done.push_back({tag, cqe->res < 0 ? -cqe->res : 0});
    }
    io_uring_cq_advance(&_ring, seen);
    _inFlight -= seen;
    return done;
}

} // namespace exportd::cleanup
