#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace exportd::cleanup {

/// Export ids and the names of export files: minted here, checked here, parsed
/// here, and nowhere else.
///
/// An export's file in exports_dir is named by its id; while its job writes it,
/// it is `<id>.part` (PART_SUFFIX), renamed to `<id>` when ready.

/// The suffix of a file still being written.
inline constexpr std::string_view PART_SUFFIX = ".part";

/// A new export id: 16 bytes from the OS secure random source (getrandom),
/// base64url without padding (22 characters).
std::string newExportId();

/// True if `name` is a well-formed export id as the HTTP API accepts it in a
/// path (docs/api.md): 22 to 32 characters of [A-Za-z0-9_-].
bool isWellFormedId(std::string_view name);

/// True if `name` has exactly the shape of what newExportId() produces: 22
/// characters of [A-Za-z0-9_-], the last of which carries only the 2 bits left
/// of 128 and so is one of `A`, `Q`, `g`, `w`. Cleanup deletes only files
/// named like this (optionally with `.part`); isWellFormedId() is the looser
/// rule of the HTTP API.
bool isMintedId(std::string_view name);

/// A file name of exports_dir that is exportd's: a minted id, optionally with
/// PART_SUFFIX.
struct ExportFileName {
    std::string id;
    bool part = false; ///< `<id>.part`: a file still being written
};

/// `name` as an export file name, or nothing when it is not one of exportd's
/// (its id part is not isMintedId()): a user's "Quarterly_Report_2026_v2" is
/// never taken for an export.
std::optional<ExportFileName> parseExportFileName(std::string_view name);

/// `<id>.part`.
std::string partFileName(std::string_view id);

} // namespace exportd::cleanup
