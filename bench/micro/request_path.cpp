// Microbenchmark: the worker's user-space work for one keep-alive request to a small cached
// file (parse wrk's request bytes, build the response, serialize its HTTP/1 head), without the
// socket calls around it.
// Build: cmake --build build-bench --target micro_request_path; run: build-bench/micro_request_path
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "worker/http/http1_serializer.hpp"
#include "worker/http/request_parser.hpp"
#include "worker/http/response.hpp"
#include "worker/http/static_handler.hpp"

namespace {

constexpr char kRequest[] = "GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n\r\n";
constexpr int kPerBlock = 200'000;
constexpr int kBlocks = 7;

}  // namespace

int main() {
    using namespace minid::http;
    char dir_template[] = "/tmp/minid-micro-XXXXXX";
    const char* dir = ::mkdtemp(dir_template);
    if (dir == nullptr) {
        std::perror("mkdtemp");
        return 1;
    }
    std::ofstream(std::string(dir) + "/hello.txt") << "Hello, world!";
    auto handler = StaticHandler::create(SiteConfig{dir, "index.html", "minid"});
    if (!handler) {
        std::fprintf(stderr, "%s\n", handler.error().c_str());
        return 1;
    }
    RequestParser parser(ParserLimits{});
    Response response;
    std::string head;
    const std::time_t now = std::time(nullptr);
    size_t head_bytes = 0;
    std::vector<double> ns_per_request;
    for (int block = 0; block < kBlocks; ++block) {
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < kPerBlock; ++i) {
            auto out = parser.execute(kRequest, sizeof kRequest - 1);
            if (out.event != RequestParser::Event::head) return 2;
            (*handler)->build(parser.request(), now, response);
            write_http1_head(response, Http1Persistence::keep, false, head);
            head_bytes += head.size();
            out = parser.execute(kRequest + out.consumed, 0);
            if (out.event != RequestParser::Event::message_complete) return 3;
        }
        const std::chrono::duration<double, std::nano> took =
            std::chrono::steady_clock::now() - start;
        ns_per_request.push_back(took.count() / kPerBlock);
    }
    std::filesystem::remove_all(dir);
    std::sort(ns_per_request.begin(), ns_per_request.end());
    std::printf(
        "request path (parse + handle + serialize), %d blocks of %d: median %.1f ns, min %.1f, max "
        "%.1f"
        " (head %zu bytes)\n",
        kBlocks, kPerBlock, ns_per_request[kBlocks / 2], ns_per_request.front(),
        ns_per_request.back(), head_bytes / (static_cast<size_t>(kBlocks) * kPerBlock));
    return 0;
}
