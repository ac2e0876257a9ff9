// Microbenchmark: what picking the handler through the Router adds to a request, for a worker
// without sites (the common case) and with 8 sites when the Host matches exactly, matches a
// wildcard, or matches nothing (default site).
// Build: cmake --build build --target micro_router_lookup; run: build/micro_router_lookup
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "worker/router.hpp"

namespace {

constexpr int kPerBlock = 2'000'000;
constexpr int kBlocks = 7;

struct Case {
    const char* name;
    bool sites;
    const char* host;  // as wrk sends it
};

constexpr Case kCases[] = {
    {"no sites", false, "127.0.0.1:18080"},
    {"8 sites, exact", true, "www.site7.example:18080"},
    {"8 sites, wildcard", true, "a.b.site7.example:18080"},
    {"8 sites, no match", true, "127.0.0.1:18080"},
};

minid::Config make_config(const std::string& root, bool sites) {
    minid::Config c;
    c.root = root;
    if (!sites) return c;
    for (int i = 0; i < 8; ++i) {
        minid::SiteSettings s;
        s.name = "site" + std::to_string(i);
        s.root = root;
        const std::string domain = "site" + std::to_string(i) + ".example";
        s.hosts = {domain, "www." + domain, "*." + domain};
        c.sites.push_back(s);
    }
    return c;
}

}  // namespace

int main() {
    char dir_template[] = "/tmp/minid-micro-XXXXXX";
    const char* dir = ::mkdtemp(dir_template);
    if (dir == nullptr) {
        std::perror("mkdtemp");
        return 1;
    }
    for (const Case& test : kCases) {
        auto router = minid::Router::create(make_config(dir, test.sites));
        if (!router) {
            std::fprintf(stderr, "%s\n", router.error().c_str());
            return 1;
        }
        minid::http::Request req;
        req.target = "/hello.txt";
        req.host = test.host;
        std::vector<double> ns;
        const void* sink = nullptr;
        for (int block = 0; block < kBlocks; ++block) {
            const auto start = std::chrono::steady_clock::now();
            for (int i = 0; i < kPerBlock; ++i) {
                sink = &router->handler_for(req);
                asm volatile("" : : "r"(sink) : "memory");  // keep every lookup
            }
            const std::chrono::duration<double, std::nano> took =
                std::chrono::steady_clock::now() - start;
            ns.push_back(took.count() / kPerBlock);
        }
        std::sort(ns.begin(), ns.end());
        std::printf("%-20s median %5.1f ns, min %5.1f, max %5.1f\n", test.name, ns[kBlocks / 2],
                    ns.front(), ns.back());
    }
    std::filesystem::remove_all(dir);
    return 0;
}
