// HTTPS for the ACME agent: an interface (so the client's state machine is tested against a
// fake CA with no network) and its libcurl implementation. Blocking: the agent is a process of
// its own and has nothing else to do while it waits for the CA.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/result.hpp"

namespace minid::acme {

struct HttpResponse {
    long status = 0;
    std::map<std::string, std::string> headers;  // names in lower case; the last value wins
    std::string body;

    std::string header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? std::string() : it->second;
    }
};

class HttpClient {
  public:
    virtual ~HttpClient() = default;
    // GET when `body` is empty and `method` is "GET", HEAD for "HEAD", else POST with
    // Content-Type `content_type`. An error is a transport failure (DNS, refused, TLS,
    // timeout) worded for an operator; any HTTP status is a response.
    virtual Result<HttpResponse> request(const std::string& method, const std::string& url,
                                         const std::string& body,
                                         const std::string& content_type) = 0;
};

// `ca_root`: a PEM file of roots for the CA's HTTPS ("" = the system's).
std::unique_ptr<HttpClient> make_curl_client(const std::string& ca_root);

}  // namespace minid::acme
