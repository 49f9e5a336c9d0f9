#include "export/RowSource.h"

#include "export/PgRowSource.h"
#include "export/SourceSlots.h"
#include "export/SqliteRowSource.h"

namespace exportd {

std::string SourceError::clientMessage() const
{
    if (_code == "source_unavailable")
        return "The data source could not be reached. Please try again later.";
    if (_code == "source_refused")
        return "The data source refused exportd's connection or its reading of the data. Please tell the operator.";
    if (_code == "source_timeout")
        return "The data source took longer than this dataset allows. Narrow the filters or try again later.";
    return "The data source could not be read. Please try again later.";
}

std::unique_ptr<RowSource> openRowSource(const Dataset& dataset, SourceSlots& slots,
                                         const std::function<void()>& checkStop)
{
    if (dataset.sourceKind == SourceKind::PostgreSQL)
        return std::make_unique<PgRowSource>(dataset, slots.acquire(dataset.sourceUri, checkStop));
    return std::make_unique<SqliteRowSource>(dataset.sourcePath);
}

} // namespace exportd
