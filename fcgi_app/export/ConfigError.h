#pragma once

#include <stdexcept>

namespace exportd {

/// Bad configuration: stops start-up (or --check-config) with a message that
/// names the key.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace exportd
