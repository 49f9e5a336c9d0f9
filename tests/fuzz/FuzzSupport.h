#pragma once

// Shared by the libFuzzer targets: the dataset catalog they parse against and
// a loud failure that libFuzzer records as a crash with the input that caused it.

#include "export/Dataset.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace exportd::fuzz {

[[noreturn]] inline void fail(const std::string& what)
{
    std::fprintf(stderr, "FUZZ INVARIANT BROKEN: %s\n", what.c_str());
    std::abort();
}

#define FUZZ_CHECK(cond, what)                                                         \
    do {                                                                               \
        if (!(cond))                                                                   \
            ::exportd::fuzz::fail(std::string(#cond) + ": " + (what));                 \
    } while (0)

/// The catalog both targets use: the demo's `orders` (as in deploy/datasets.json)
/// and `events`, which has every filter type, a timestamp date, a query source
/// and a column whose name needs quoting. Loaded once; never checked against a
/// file (the SQL target creates its own in-memory table).
inline const DatasetCatalog& fuzzCatalog()
{
    static const DatasetCatalog catalog = DatasetCatalog::loadString(R"json({"datasets": {
      "orders": {
        "title": "Orders", "source": "sqlite:demo.db", "table": "orders",
        "columns": ["id", "created_at", "customer_email", "customer_name", "country", "status", "total_cents", "currency"],
        "order_by": "id",
        "filters": {
          "status": {"type": "enum", "values": ["pending", "paid", "shipped", "refunded", "cancelled"]},
          "country": {"type": "string"},
          "customer_email": {"type": "string"},
          "created_at": {"type": "date", "date_storage": "iso8601-utc-text"},
          "total_cents": {"type": "integer"}
        },
        "csv_formula_guard": true
      },
      "events": {
        "title": "Events", "source": "sqlite::memory:",
        "query": "SELECT id, kind, label, \"we\"\"ird col\", created_at, ts, amount FROM t",
        "columns": ["id", "kind", "label", "we\"ird col", "created_at", "ts", "amount"],
        "order_by": "amount DESC, id",
        "filters": {
          "kind": {"type": "enum", "values": ["a", "b", "O'Brien", "x\"y", "100%", "_"]},
          "label": {"type": "string"},
          "we\"ird col": {"type": "string"},
          "created_at": {"type": "date", "date_storage": "iso8601-utc-text"},
          "ts": {"type": "date", "date_storage": "timestamp"},
          "amount": {"type": "integer"}
        }
      }
    }})json", "");
    return catalog;
}

} // namespace exportd::fuzz
