#pragma once

#include "cleanup/postgresql/Connection.h"

namespace exportd::cleanup::postgresql {

/// Creates the registry's tables and indexes where missing, in one
/// transaction under an advisory lock: hosts starting together would
/// otherwise race in CREATE ... IF NOT EXISTS (a duplicate key in pg_type).
/// They go into the first schema of the connection's search_path.
void createSchema(Connection& c);

} // namespace exportd::cleanup::postgresql
