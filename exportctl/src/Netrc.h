#pragma once

#include <optional>
#include <string>

namespace exportd::ctl {

struct NetrcEntry {
    std::string login;
    std::string password;
};

/// Looks `host` up in the netrc text: the first `machine host` entry (whose
/// login is `user`, when one is given), else the `default` entry. Understands
/// machine/default/login/password/account/macdef and "quoted tokens".
std::optional<NetrcEntry> findNetrc(const std::string& text, const std::string& host,
                                    const std::optional<std::string>& user);

/// Reads `path` ("" = $NETRC, else ~/.netrc). A missing default file means no
/// entry; a missing file named explicitly, or an unreadable one, is a CtlError.
std::optional<NetrcEntry> lookupNetrc(const std::string& path, const std::string& host,
                                      const std::optional<std::string>& user);

} // namespace exportd::ctl
