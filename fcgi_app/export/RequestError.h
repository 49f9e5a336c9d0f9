#pragma once

#include <map>
#include <stdexcept>
#include <string>

namespace exportd {

/// A client mistake or a refusal, turned into a JSON error answer
/// `{"error": code, "message": message, "field": field}` by the one catch in
/// the request loop. `headers` adds e.g. Retry-After.
class RequestError : public std::runtime_error {
public:
    RequestError(int status, std::string code, std::string message, std::string field = "")
        : std::runtime_error(message), _status(status), _code(std::move(code)), _field(std::move(field)) {}

    int status() const { return _status; }
    const std::string& code() const { return _code; }
    const std::string& field() const { return _field; }
    std::map<std::string, std::string>& headers() { return _headers; }
    const std::map<std::string, std::string>& headers() const { return _headers; }

private:
    int _status;
    std::string _code;
    std::string _field;
    std::map<std::string, std::string> _headers;
};

} // namespace exportd
