#include "export/RowWriter.h"

#include "export/CsvWriter.h"
#include "export/NdjsonWriter.h"
#include "export/XlsxWriter.h"

namespace exportd {

std::unique_ptr<RowWriter> makeWriter(const std::string& format, cleanup::FileStore& store, const std::string& name,
                                      const WriterOptions& options)
{
    if (format == "csv")
        return std::make_unique<CsvWriter>(store, name, options);
    if (format == "ndjson")
        return std::make_unique<NdjsonWriter>(store, name, options);
    if (format == "xlsx")
        return std::make_unique<XlsxWriter>(store, name, options);
    throw WriteError("unsupported export format \"" + format + "\"", false);
}

std::optional<RowCap> rowCapOf(const std::string& format)
{
    if (format == "xlsx")
        return RowCap{XlsxWriter::MAX_DATA_ROWS, "an XLSX sheet", "Choose CSV or NDJSON, or narrow the filters."};
    return std::nullopt;
}

} // namespace exportd
