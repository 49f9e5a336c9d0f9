#pragma once

#include "export/FileSink.h"

namespace exportd {

/// NDJSON: one JSON object per row with the column names as keys, numbers as
/// numbers, NULL as null, LF line ends; invalid UTF-8 becomes U+FFFD.
/// Used by one thread.
class NdjsonWriter : public FileRowWriter {
public:
    NdjsonWriter(cleanup::FileStore& store, const std::string& name, const WriterOptions& options)
        : FileRowWriter(store, name, options.bufferBytes) {}
    void writeHeader(const std::vector<std::string>& columns) override;
    void writeRow(const std::vector<Cell>& cells) override;

private:
    std::vector<std::string> _keys; ///< `"name":` (and a leading comma after the first), encoded once
};

} // namespace exportd
