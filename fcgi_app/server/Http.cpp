#include "server/Http.h"

#include "export/CellText.h"
#include "export/JsonText.h"

#include <Poco/Net/HTTPResponse.h>
#include <Poco/URI.h>


#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace exportd {

std::string Request::header(const std::string& name) const
{
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
}

std::string Request::param(const std::string& name) const
{
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
}

bool Request::queryParam(const std::string& name, std::string& value) const
{
    std::size_t pos = 0;
    while (pos <= query.size()) {
        std::size_t end = query.find('&', pos);
        if (end == std::string::npos)
            end = query.size();
        std::string pair = query.substr(pos, end - pos);
        std::size_t eq = pair.find('=');
        std::string key = pair.substr(0, eq);
        if (key == name) {
            std::string raw = eq == std::string::npos ? std::string() : pair.substr(eq + 1);
            std::replace(raw.begin(), raw.end(), '+', ' ');
            value.clear();
            try {
                Poco::URI::decode(raw, value);
            } catch (...) {
                value = raw; // undecodable: validated (and refused) by the caller
            }
            return true;
        }
        pos = end + 1;
    }
    return false;
}

void Response::setHeader(const std::string& name, const std::string& value)
{
    for (auto& h : headers) {
        if (h.first == name) {
            h.second = value;
            return;
        }
    }
    headers.emplace_back(name, value);
}

std::string Response::header(const std::string& name) const
{
    for (const auto& h : headers)
        if (h.first == name)
            return h.second;
    return {};
}


Response jsonResponse(int status, const Json::Value& body)
{
    Response r;
    r.status = status;
    r.setHeader("Content-Type", "application/json");
    r.body = compactJson(body);
    r.body += '\n';
    return r;
}

Response errorResponse(int status, const std::string& code, const std::string& message,
                       const std::string& field, const Json::Value& extra)
{
    Json::Value body(Json::objectValue);
    body["error"] = code;
    // Messages and fields may quote what the client sent: always valid UTF-8 out.
    std::string cleanMessage, cleanField;
    appendUtf8(cleanMessage, message);
    appendUtf8(cleanField, field);
    body["message"] = cleanMessage;
    if (!field.empty())
        body["field"] = cleanField;
    if (extra.isObject())
        for (const auto& name : extra.getMemberNames())
            body[name] = extra[name];
    return jsonResponse(status, body);
}

std::string reasonPhrase(int status)
{
    return Poco::Net::HTTPResponse::getReasonForStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
}

namespace {

// q-value of the best Accept entry matching `type` ("text/html"), -1 if none.
double acceptQuality(const std::string& accept, const std::string& type)
{
    double best = -1;
    const std::string major = type.substr(0, type.find('/'));
    std::size_t pos = 0;
    while (pos < accept.size()) {
        std::size_t end = accept.find(',', pos);
        if (end == std::string::npos)
            end = accept.size();
        std::string item = accept.substr(pos, end - pos);
        pos = end + 1;
        std::size_t semi = item.find(';');
        std::string media = item.substr(0, semi);
        media.erase(std::remove_if(media.begin(), media.end(), ::isspace), media.end());
        std::transform(media.begin(), media.end(), media.begin(), ::tolower);
        double q = 1.0;
        if (semi != std::string::npos) {
            std::size_t qpos = item.find("q=", semi);
            if (qpos != std::string::npos)
                q = std::atof(item.c_str() + qpos + 2);
        }
        // Exact matches win over wildcards; wildcards count a little less.
        if (media == type)
            best = std::max(best, q);
        else if (media == major + "/*" || media == "*/*")
            best = std::max(best, q - 0.0001);
    }
    return best;
}

} // namespace

bool prefersHtml(const Request& request)
{
    const std::string accept = request.header("accept");
    if (accept.empty())
        return false;
    double html = acceptQuality(accept, "text/html");
    double json = acceptQuality(accept, "application/json");
    return html > 0 && html > json;
}

std::string htmlEscape(const std::string& text)
{
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

} // namespace exportd
