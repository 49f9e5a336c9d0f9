// libFuzzer target: the POST /api/exports body parser (parseExportRequest).
//
// Any input must end in a validated request or in a RequestError that the API
// turns into a 4xx: a 400 with one of the four request codes (invalid_json,
// invalid_request, unknown_dataset, unsupported_format: docs/api.md, Errors)
// and a message and field that are valid UTF-8 (they are echoed in the JSON
// answer). Any other exception would be a 500; a crash or sanitizer report is
// a bug.
// A validated request must also survive what the server does with it next:
// build its SQL, be stored as JSON in the registry, read back, validated again
// and keyed again for regenerate, with the same canonical key.

#include "FuzzSupport.h"

#include "export/ExportRequest.h"
#include "export/SqlBuilder.h"
#include "export/JsonText.h"
#include "export/RequestError.h"

#include <json/reader.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

using namespace exportd;

namespace {

// How Api reads filters back from the registry (parseJsonText in Api.cpp).
Json::Value readBack(const std::string& text)
{
    Json::CharReaderBuilder builder;
    Json::Value value;
    std::string errors;
    std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    FUZZ_CHECK(reader->parse(text.data(), text.data() + text.size(), &value, &errors),
               "stored filters do not parse back: " + text);
    return value;
}

void checkValidated(const ExportRequest& r, const DatasetCatalog& catalog)
{
    const Dataset* dataset = catalog.find(r.dataset);
    FUZZ_CHECK(dataset != nullptr, r.dataset);
    const auto& formats = supportedFormats();
    FUZZ_CHECK(std::find(formats.begin(), formats.end(), r.format) != formats.end(), r.format);
    FUZZ_CHECK(r.retentionSeconds >= 1 && r.retentionSeconds <= 3600, std::to_string(r.retentionSeconds));
    FUZZ_CHECK(r.filters.isObject(), "filters");

    const SqlQuery q = buildQuery(*dataset, r.filters);
    FUZZ_CHECK(!q.select.empty() && !q.count.empty(), "empty SQL");

    Json::Value canonical;
    std::string error;
    FUZZ_CHECK(parseStrictJson(r.canonicalKey, canonical, error), "canonical key is not JSON: " + r.canonicalKey);

    // Registry round trip, as regenerate does it.
    const Json::Value stored = readBack(compactJson(r.filters));
    validateFilters(*dataset, stored);
    FUZZ_CHECK(canonicalKey(r.dataset, r.format, stored, r.retentionSeconds) == r.canonicalKey,
               "regenerate would key differently: " + r.canonicalKey);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const DatasetCatalog& catalog = fuzz::fuzzCatalog();
    const std::string body(reinterpret_cast<const char*>(data), size);
    try {
        const ExportRequest r = parseExportRequest(body, catalog, 3600, "");
        checkValidated(r, catalog);
    } catch (const RequestError& e) {
        static const std::set<std::string> CODES{"invalid_json", "invalid_request", "unknown_dataset",
                                                 "unsupported_format"};
        FUZZ_CHECK(e.status() == 400, std::to_string(e.status()));
        FUZZ_CHECK(CODES.count(e.code()) == 1, e.code());
        FUZZ_CHECK(*e.what() != '\0', "empty message");
        FUZZ_CHECK(isValidUtf8(e.what()), "message is not UTF-8");
        FUZZ_CHECK(isValidUtf8(e.field()), "field is not UTF-8");
    }
    return 0;
}
