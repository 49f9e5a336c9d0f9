// Recording rate of single deletions in the registry: N ready records, then
// markFileDeleted() on each, one call (one transaction) at a time, as the
// sweeper records the overdue files it deleted. Prints one JSON object.
// (This was a unit test's throughput assertion; a rate measures the machine,
// so it lives here. The cleanup timer's batched recording is measured by
// cleanup_bench.)
//
//   registry_bench DIR [--records N]      (DIR: an empty directory for registry.db)

#include "cleanup/ExportRecord.h"
#include "cleanup/Registry.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

using namespace exportd::cleanup;

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::cerr << "usage: registry_bench DIR [--records N]\n";
        return 2;
    }
    const std::string dir = argv[1];
    int n = 5000;
    for (int i = 2; i + 1 < argc; i += 2)
        if (std::string(argv[i]) == "--records") n = std::atoi(argv[i + 1]);

    auto reg = openRegistry("sqlite:" + dir + "/registry.db");
    const Millis t0 = 1795000000000;
    auto idOf = [](int i) {
        std::string id = "bench" + std::to_string(i);
        id.resize(22, 'x');
        return id;
    };
    for (int i = 0; i < n; ++i) {
        ExportRecord r;
        r.id = idOf(i);
        r.ownerKey = r.listKey = r.limitKey = "bench";
        r.requestKey = r.id;
        r.status = ExportStatus::Ready;
        r.dataset = "orders";
        r.format = "csv";
        r.createdAt = t0;
        r.readyAt = t0;
        r.expiresAt = t0;
        reg->create(r, 0);
    }
    const auto start = std::chrono::steady_clock::now();
    int applied = 0;
    for (int i = 0; i < n; ++i) applied += reg->markFileDeleted(idOf(i), t0 + 1) ? 1 : 0;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("{\"records\": %d, \"applied\": %d, \"seconds\": %.3f, \"per_second\": %.0f}\n", n, applied,
                secs, n / secs);
    return applied == n ? 0 : 1;
}
