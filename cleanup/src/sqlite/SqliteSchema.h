#pragma once

#include "SqliteConnection.h"

namespace exportd::cleanup::sqlite {

/// Creates the registry's tables and indexes where missing (and drops the
/// index an older version made). Call inside a write transaction.
void createSchema(Connection& c);

} // namespace exportd::cleanup::sqlite
