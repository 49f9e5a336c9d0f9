#pragma once

#include "export/Dataset.h"
#include "export/RowWriter.h"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace exportd::cleanup::postgresql { class Connection; class PgError; }

namespace exportd {

/// What exportd makes of a PostgreSQL column type (docs/operations.md,
/// "PostgreSQL datasets", has the table).
enum class PgColumnKind {
    Int2, Int4, Int8,   ///< integers, read in binary
    Bool,               ///< read in binary
    Date,               ///< read in binary (days since 2000-01-01)
    Timestamp,          ///< timestamp and timestamptz, read in binary (microseconds since 2000-01-01 UTC)
    Numeric,            ///< numeric, real, double precision: their text, every digit
    Json,               ///< json, jsonb: their text
    JsonArray,          ///< an array: to_json(col), a JSON array
    Text,               ///< everything else (text, varchar, enums, uuid, interval, ...): its text
    Refused             ///< bytea and arrays of it: not exported
};

/// One column's type as the catalog describes it (domains resolved to their base type).
struct PgTypeInfo {
    unsigned oid = 0;
    std::string name;        ///< the base type's name ("int4", "order_status", "_text")
    char category = 'X';     ///< pg_type.typcategory of the base type
    char typtype = 'b';      ///< pg_type.typtype of the base type ('e': an enum)
    std::string elementName; ///< an array's element type ("" otherwise)
};

PgColumnKind kindOf(const PgTypeInfo& type);

/// The select-list expression that reads a column of `kind` in the form
/// decodePgCell() expects (binary for the native kinds, text otherwise).
std::string pgSelectExpression(const std::string& quotedColumn, PgColumnKind kind);

/// Decodes one binary-format value of a column of `kind` into `cell`;
/// `scratch` holds the text of dates and times (the cell points into it, until
/// the next call with the same scratch). Invalid lengths make a Text cell of
/// the raw bytes rather than reading past them.
void decodePgCell(PgColumnKind kind, const char* value, int length, Cell& cell, std::string& scratch);

/// RFC 3339 UTC text of PostgreSQL's binary timestamp (microseconds since
/// 2000-01-01T00:00:00Z) or date (days since 2000-01-01): "2026-01-02T03:04:05.5Z",
/// "2026-01-02"; "infinity"/"-infinity"; a year past 9999 has more digits,
/// one before year 1 is written as PostgreSQL does, with " BC".
void appendPgTimestamp(std::string& out, std::int64_t micros);
void appendPgDate(std::string& out, std::int32_t days);

/// True for "postgresql://..." and "postgres://...".
bool isPostgresUri(const std::string& source);
/// "host=... port=... dbname=... user=..." of a libpq URI, never its password;
/// "" when libpq cannot parse it.
std::string describePostgresSource(const std::string& uri);

/// The catalog's description of each type in `oids` (the built-in ones
/// without asking the server).
std::map<unsigned, PgTypeInfo> lookupPgTypes(cleanup::postgresql::Connection& connection,
                                             const std::vector<unsigned>& oids);

/// The types of the named columns of the dataset's table or query (names
/// missing from it are absent from the answer), read on `connection`.
std::vector<std::pair<std::string, PgTypeInfo>> describePgColumns(cleanup::postgresql::Connection& connection,
                                                                  const Dataset& dataset);

/// The failure code of a PostgreSQL error for an export (docs/api.md,
/// "Failure codes"): source_unavailable, source_refused, source_timeout, source_error.
std::string pgFailureCode(const cleanup::postgresql::PgError& error);

/// --check-config and start-up for a PostgreSQL dataset: connects, and checks
/// that the table or query and every column, filter field and order_by column
/// exist; that each exported column has a type exportd writes; that each
/// filter's column has a type its kind accepts (and an enum filter's values
/// are labels of an enum column's type); that the role may read them all, in
/// a read-only transaction. Throws ConfigError naming the dataset.
void checkPgSource(const Dataset& dataset);

} // namespace exportd
