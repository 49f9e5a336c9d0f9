#pragma once

#include "cleanup/FileStore.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace exportd {

/// One value of a row as read from the database cursor. `text` points into the
/// cursor's memory and is valid only during writeRow(). SQLite rows use Null,
/// Integer, Real and Text; a PostgreSQL source also gives the typed kinds
/// below, each carried as text (docs/operations.md, "PostgreSQL datasets",
/// has the table of what each format makes of them):
/// - Boolean: `integer` is 0 or 1;
/// - Numeric: a decimal in `text` ("-12.50", "NaN", "Infinity"), every digit kept;
/// - Date: "YYYY-MM-DD" (or "infinity", a BC date, ...) in `text`;
/// - Timestamp: RFC 3339 UTC "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" (or "infinity", ...) in `text`;
/// - Json: one JSON value in `text` (jsonb, json, an array through to_json).
struct Cell {
    enum class Type { Null, Integer, Real, Text, Boolean, Numeric, Date, Timestamp, Json };
    Type type = Type::Null;
    std::int64_t integer = 0;
    double real = 0;
    std::string_view text;
};

/// Streams rows into an export file. One writer per job, used by one thread.
/// Writes go through a large buffer to a FileWriter of the store that the
/// writer owns (CSV, NDJSON) or through libxlsxwriter at the store's local
/// path (XLSX). I/O errors throw
/// WriteError; ENOSPC/EDQUOT throw WriteError with diskFull() true.
class RowWriter {
public:
    virtual ~RowWriter() = default;
    virtual void writeHeader(const std::vector<std::string>& columns) = 0;
    virtual void writeRow(const std::vector<Cell>& cells) = 0;
    /// Flushes, fsyncs and closes the file. After it, bytesWritten() is final.
    virtual void finish() = 0;
    virtual std::uint64_t bytesWritten() const = 0;
    /// The file's size so far, as far as the writer knows it before finish()
    /// (0 where only finish() knows: XLSX is zipped at the end).
    virtual std::uint64_t bytesSoFar() const { return 0; }
    /// Lower-case hex SHA-256 of the file's bytes; valid after finish().
    virtual std::string sha256() const = 0;
};

class WriteError : public std::runtime_error {
public:
    WriteError(const std::string& what, bool diskFull) : std::runtime_error(what), _diskFull(diskFull) {}
    /// The store's failure, as the job reports it.
    explicit WriteError(const cleanup::StoreError& e) : std::runtime_error(e.what()), _diskFull(e.diskFull()) {}
    bool diskFull() const { return _diskFull; }

private:
    bool _diskFull;
};

struct WriterOptions {
    bool csvFormulaGuard = true;
    std::size_t bufferBytes = 1 << 20;
    std::vector<std::string> dateColumns; ///< xlsx: columns written as dates
};

/// Creates the writer for `format` ("csv", "ndjson", "xlsx") writing the new
/// file `name` of `store` (FileStore::create: exclusive, mode 0640). Throws WriteError.
std::unique_ptr<RowWriter> makeWriter(const std::string& format, cleanup::FileStore& store, const std::string& name,
                                      const WriterOptions& options);

/// The most data rows a file of `format` can hold, when the format itself
/// sets one (XLSX: a sheet's 1,048,575 rows after the header), with the words
/// the failure uses.
struct RowCap {
    std::int64_t rows;
    std::string holder; ///< "an XLSX sheet": "more than <holder> holds"
    std::string advice; ///< what the client can do instead
};
std::optional<RowCap> rowCapOf(const std::string& format);

/// CSV field escaping (RFC 4180 + formula guard), exposed for tests: appends the
/// field for `cell` to `out`.
void appendCsvField(std::string& out, const Cell& cell, bool formulaGuard);
/// NDJSON value encoding, exposed for tests: appends the JSON value for `cell`.
void appendJsonValue(std::string& out, const Cell& cell);

} // namespace exportd
