// The libcurl HttpClient: one easy handle reused (keep-alive to the CA), no signals (the agent
// has its own handlers), bounded connect and transfer times, peer verification always on.
#include <curl/curl.h>

#include <algorithm>
#include <cctype>

#include "acme/acme_http.hpp"
#include "common/build_info.hpp"

namespace minid::acme {
namespace {

constexpr long kConnectTimeoutS = 10;
constexpr long kTransferTimeoutS = 60;
constexpr size_t kMaxBody = 1 << 20;

size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* out = static_cast<std::string*>(user);
    const size_t n = size * count;
    if (out->size() + n > kMaxBody) return 0;  // cut: the CA sends nothing this large
    out->append(data, n);
    return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* headers = static_cast<std::map<std::string, std::string>*>(user);
    const size_t n = size * count;
    std::string line(data, n);
    const size_t colon = line.find(':');
    if (colon == std::string::npos) {
        if (line.starts_with("HTTP/"))
            headers->clear();  // a new response (after a 100 or redirect)
        return n;
    }
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
        value.pop_back();
    // Link may repeat (rel="up", rel="alternate"): keep them all, newline-separated.
    auto [it, fresh] = headers->emplace(name, value);
    if (!fresh) it->second = name == "link" ? it->second + "\n" + value : value;
    return n;
}

std::string host_of(const std::string& url) {
    const size_t start = url.find("://");
    if (start == std::string::npos) return url;
    const size_t end = url.find('/', start + 3);
    return url.substr(start + 3, end == std::string::npos ? std::string::npos : end - start - 3);
}

class CurlClient final : public HttpClient {
  public:
    explicit CurlClient(std::string ca_root) : ca_root_(std::move(ca_root)) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        easy_ = curl_easy_init();
    }
    ~CurlClient() override {
        if (easy_) curl_easy_cleanup(easy_);
    }

    Result<HttpResponse> request(const std::string& method, const std::string& url,
                                 const std::string& body,
                                 const std::string& content_type) override {
        if (!easy_) return make_error("curl_easy_init failed");
        CURL* c = easy_;
        curl_easy_reset(c);
        HttpResponse r;
        char errbuf[CURL_ERROR_SIZE] = {0};
        const std::string agent = std::string("minid/") + build::version + " (ACME)";
        curl_easy_setopt(c, CURLOPT_URL, url.c_str());
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutS);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, kTransferTimeoutS);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
        curl_easy_setopt(c, CURLOPT_USERAGENT, agent.c_str());
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
        if (!ca_root_.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca_root_.c_str());
        curl_slist* list = nullptr;
        if (method == "HEAD") {
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        } else if (method == "POST") {
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
            list = curl_slist_append(list, ("Content-Type: " + content_type).c_str());
            list = curl_slist_append(list, "Expect:");
            curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
        }
        const CURLcode rc = curl_easy_perform(c);
        curl_slist_free_all(list);
        if (rc != CURLE_OK) return make_error(describe(rc, url, errbuf));
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
        return r;
    }

  private:
    // The cause an operator can act on, then curl's own words.
    static std::string describe(CURLcode rc, const std::string& url, const char* errbuf) {
        const std::string detail = *errbuf ? errbuf : curl_easy_strerror(rc);
        const std::string host = host_of(url);
        switch (rc) {
            case CURLE_COULDNT_RESOLVE_HOST:
                return "DNS: cannot resolve " + host + " (" + detail + ")";
            case CURLE_COULDNT_CONNECT:
                return "cannot connect to " + host +
                       " (connection refused or unreachable: " + detail + ")";
            case CURLE_OPERATION_TIMEDOUT:
                return "timed out talking to " + host + " (" + detail + ")";
            case CURLE_PEER_FAILED_VERIFICATION:
            case CURLE_SSL_CACERT_BADFILE:
            case CURLE_SSL_CONNECT_ERROR:
                return "TLS with " + host + " failed (" + detail +
                       "; for a private CA set ca_root in [acme])";
            default:
                return url + ": " + detail;
        }
    }

    std::string ca_root_;
    CURL* easy_ = nullptr;
};

}  // namespace

std::unique_ptr<HttpClient> make_curl_client(const std::string& ca_root) {
    return std::make_unique<CurlClient>(ca_root);
}

}  // namespace minid::acme
