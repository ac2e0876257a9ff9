// Microbenchmark: the proxy's per-request user-space work without sockets: building the head
// sent upstream, reading a small and a large chunked response, and filtering response headers,
// with the heap allocations each makes once warm (global operator new is counted here).
// Build: cmake --build build --target micro_proxy_parts; run: build/micro_proxy_parts
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <new>
#include <string>
#include <vector>

#include "worker/proxy/upstream_request_head.hpp"
#include "worker/proxy/upstream_response_parser.hpp"

namespace {
std::atomic<size_t> g_allocations{0};
}  // namespace

// The replacements below are malloc/free based throughout; GCC cannot see that the free() in
// operator delete pairs with the malloc() in operator new.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

namespace {

using namespace minid;
using namespace minid::proxy;

constexpr int kBlocks = 7;

class NullSink final : public UpstreamResponseParser::Sink {
  public:
    void on_informational(const UpstreamResponseHead&) override {}
    void on_head(const UpstreamResponseHead& h) override { kept += h.headers.size(); }
    void on_body(std::string_view d) override { body += d.size(); }
    void on_complete() override { ++completes; }
    size_t kept = 0, body = 0, completes = 0;
};

class CopyHead final : public UpstreamResponseParser::Sink {
  public:
    explicit CopyHead(UpstreamResponseHead& to) : to_(to) {}
    void on_informational(const UpstreamResponseHead&) override {}
    void on_head(const UpstreamResponseHead& h) override { to_ = h; }
    void on_body(std::string_view) override {}
    void on_complete() override {}

  private:
    UpstreamResponseHead& to_;
};

// CPU time rather than wall time: the machine is shared, and a busy one stretches wall time.
double thread_cpu_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// Runs `fn` kBlocks times `per_block` times; prints the median CPU ns per call and the heap
// allocations per call in the last block (the earlier ones warm the buffers up).
template <typename Fn>
void measure(const char* what, int per_block, Fn&& fn) {
    std::vector<double> ns;
    double allocs = 0;
    for (int block = 0; block < kBlocks; ++block) {
        const size_t a0 = g_allocations.load();
        const double start = thread_cpu_ns();
        for (int i = 0; i < per_block; ++i) fn();
        ns.push_back((thread_cpu_ns() - start) / per_block);
        allocs = static_cast<double>(g_allocations.load() - a0) / per_block;
    }
    std::sort(ns.begin(), ns.end());
    std::printf("%-44s median %8.1f ns (min %.1f, max %.1f), %.2f allocations\n", what,
                ns[kBlocks / 2], ns.front(), ns.back(), allocs);
}

}  // namespace

int main() {
    // A browser's request as the parser would give it.
    const std::vector<http::Header> headers = {
        {"Host", "app.example"},
        {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"},
        {"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
        {"Accept-Language", "en-US,en;q=0.5"},
        {"Accept-Encoding", "gzip, deflate, br"},
        {"Connection", "keep-alive"},
        {"Cookie", "session=0123456789abcdef0123456789abcdef; theme=dark"},
        {"Upgrade-Insecure-Requests", "1"},
        {"Sec-Fetch-Dest", "document"},
        {"X-Forwarded-For", "203.0.113.9"},
    };
    http::Request req;
    req.method_name = "GET";
    req.target = "/accounts/profile?tab=settings";
    req.host = "app.example";
    req.headers = headers.data();
    req.header_count = static_cast<uint32_t>(headers.size());
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_addr.s_addr = htonl(0xc0000207);
    const ForwardingContext ctx{.peer = reinterpret_cast<const sockaddr*>(&peer)};
    std::string out;
    measure("build_upstream_request_head (10 headers)", 500'000, [&] {
        out.clear();
        build_upstream_request_head(req, ctx, std::nullopt, out);
    });

    // What Gunicorn sends for a small page.
    const std::string small =
        "HTTP/1.1 200 OK\r\nServer: gunicorn\r\nDate: Mon, 07 Dec 2026 13:00:00 GMT\r\n"
        "Connection: keep-alive\r\nContent-Type: text/html; charset=utf-8\r\n"
        "Content-Length: 13\r\nX-Frame-Options: DENY\r\nVary: Cookie\r\n\r\nHello, world!";
    UpstreamResponseParser parser;
    NullSink sink;
    measure("small response, one feed (7 headers)", 500'000, [&] {
        parser.begin(&sink, false, false);
        if (!parser.feed(small).ok() || !parser.reusable()) std::abort();
    });

    UpstreamResponseHead head;
    CopyHead copy(head);
    parser.begin(&copy, false, false);
    if (!parser.feed(small).ok()) return 2;
    size_t kept = 0;
    measure("ResponseHeaderFilter over those 7 headers", 500'000, [&] {
        const ResponseHeaderFilter filter(head);
        for (const auto& h : head.headers) kept += filter.keep(h.first) ? 1 : 0;
    });

    // A 1 MiB chunked response in 16 KiB chunks, read 64 KiB at a time.
    std::string big = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 64; ++i) big += "4000\r\n" + std::string(16384, 'x') + "\r\n";
    big += "0\r\n\r\n";
    measure("1 MiB chunked response, 64 KiB feeds (framing)", 500, [&] {
        parser.begin(&sink, false, false);
        for (size_t at = 0; at < big.size(); at += 65536) {
            if (!parser.feed(std::string_view(big).substr(at, 65536)).ok()) std::abort();
        }
        if (!parser.reusable()) std::abort();
    });
    std::printf("(checks: %zu headers kept, %zu body bytes)\n", kept, sink.body);
    return 0;
}
