#pragma once

#include "export/FileSink.h"

namespace exportd {

/// CSV: RFC 4180, UTF-8, header row, CRLF, quoting of fields that
/// hold , " CR LF ; or TAB, and the formula guard (a leading ' before text starting
/// with = + - @ TAB CR) unless the dataset turns it off. Used by one thread.
class CsvWriter : public FileRowWriter {
public:
    CsvWriter(cleanup::FileStore& store, const std::string& name, const WriterOptions& options)
        : FileRowWriter(store, name, options.bufferBytes), _formulaGuard(options.csvFormulaGuard) {}
    void writeHeader(const std::vector<std::string>& columns) override;
    void writeRow(const std::vector<Cell>& cells) override;

private:
    bool _formulaGuard;
};

} // namespace exportd
