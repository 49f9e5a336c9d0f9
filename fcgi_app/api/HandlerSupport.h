#pragma once

#include "api/ApiContext.h"
#include "server/Http.h"

#include "cleanup/Registry.h"

#include <string>

namespace exportd {

/// Small pieces several handlers share. Any thread.

/// The record `id` when `who` owns it; else RequestError 404 not_found (the
/// same answer whether it does not exist or belongs to someone else).
cleanup::ExportRecord findOwned(const ApiContext& context, const std::string& id, const Identity& who);

/// True for Content-Type application/json, optionally with charset=utf-8
/// (docs/api.md, "Requests").
bool isJsonContentType(const std::string& contentType);

/// For the bodiless POST and DELETE: no body, or a JSON one that parses.
/// Throws RequestError 413, 415 or 400.
void requireJsonOrEmptyBody(const Request& request, std::int64_t maxBodyBytes);

} // namespace exportd
