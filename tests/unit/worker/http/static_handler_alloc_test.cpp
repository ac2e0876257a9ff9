// Proves that StaticHandler answers cache hits without heap allocation. Global operator
// new/delete are replaced (for the whole test binary) by malloc/free wrappers that count calls
// while a test has counting switched on; everything else behaves as before.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>

#include "tests/unit/worker/http/handler_fixture.hpp"
#include "worker/http/etag.hpp"
#include "worker/http/request_parser.hpp"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<size_t> g_allocations{0};

void count() {
    if (g_counting.load(std::memory_order_relaxed)) {
        g_allocations.fetch_add(1, std::memory_order_relaxed);
    }
}

void* counted_alloc(std::size_t n) noexcept {
    count();
    return std::malloc(n == 0 ? 1 : n);
}

void* counted_aligned_alloc(std::size_t n, std::align_val_t al) noexcept {
    count();
    void* p = nullptr;
    const auto align = std::max(static_cast<std::size_t>(al), sizeof(void*));
    return posix_memalign(&p, align, n == 0 ? 1 : n) == 0 ? p : nullptr;
}

void* or_throw(void* p) {
    if (p == nullptr) throw std::bad_alloc();
    return p;
}
}  // namespace

// Every replaceable form is replaced, so that nothing pairs a library operator new with a
// free() here (AddressSanitizer reports such a mismatch); all of them are malloc/free based.
void* operator new(std::size_t n) {
    return or_throw(counted_alloc(n));
}
void* operator new[](std::size_t n) {
    return or_throw(counted_alloc(n));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    return counted_alloc(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    return counted_alloc(n);
}
void* operator new(std::size_t n, std::align_val_t al) {
    return or_throw(counted_aligned_alloc(n, al));
}
void* operator new[](std::size_t n, std::align_val_t al) {
    return or_throw(counted_aligned_alloc(n, al));
}
void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
    return counted_aligned_alloc(n, al);
}
void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
    return counted_aligned_alloc(n, al);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    std::free(p);
}

namespace minid::http {
namespace {

using testing::HandlerTest;
using testing::kFileTime;
using testing::kNow;

// Heap allocations made while `fn` runs.
template <typename Fn>
size_t allocations_in(Fn&& fn) {
    g_allocations = 0;
    g_counting = true;
    fn();
    g_counting = false;
    return g_allocations.load();
}

TEST(AllocationCounter, SeesAllocations) {
    // Guards the guard: if the replacement were not in effect, the tests below would pass
    // for the wrong reason.
    const size_t n = allocations_in([] {
        auto* p = new std::string(100, 'x');
        delete p;
    });
    EXPECT_GE(n, 1u);
}

TEST_F(HandlerTest, CacheHitsDoNotAllocate) {
    // Requests view these strings, so they must outlive the handle() calls.
    const Req small_req = get("/hello.txt");
    const Req big_req = get("/big.bin");
    const Req dir_req = get("/dir/");
    Req ranged = get("/hello.txt");
    ranged.range = "bytes=2-5";
    Req cond = get("/hello.txt");
    cond.if_none_match = make_etag(kFileTime, 11);
    const Req head_r = head("/hello.txt");
    const Req dot_req = get("/.git/config");
    Req post = get("/hello.txt");
    post.method = Method::other;
    post.method_name = "POST";

    const Request small = to_request(small_req);
    const Request big = to_request(big_req);
    const Request dir = to_request(dir_req);
    const Request range = to_request(ranged);
    const Request not_modified = to_request(cond);
    const Request head_req = to_request(head_r);
    const Request dotfile = to_request(dot_req);
    const Request other = to_request(post);

    // Warm-up: fills the cache, grows out.head, builds the static error pages.
    for (const Request* r :
         {&small, &big, &dir, &range, &not_modified, &head_req, &dotfile, &other}) {
        serve(*r, true, kNow);
    }
    serve_error(400);

    EXPECT_EQ(allocations_in([&] { serve(small, true, kNow); }), 0u);
    EXPECT_EQ(out.status, 200);
    EXPECT_EQ(out.body_kind, Response::BodyKind::memory);
    EXPECT_EQ(allocations_in([&] { serve(big, true, kNow); }), 0u);
    EXPECT_EQ(out.body_kind, Response::BodyKind::file);
    EXPECT_EQ(allocations_in([&] { serve(dir, true, kNow); }), 0u);
    EXPECT_EQ(allocations_in([&] { serve(range, true, kNow); }), 0u);
    EXPECT_EQ(out.status, 206);
    EXPECT_EQ(allocations_in([&] { serve(not_modified, true, kNow); }), 0u);
    EXPECT_EQ(out.status, 304);
    EXPECT_EQ(allocations_in([&] { serve(head_req, false, kNow); }), 0u);
    EXPECT_EQ(allocations_in([&] { serve(dotfile, true, kNow); }), 0u);
    EXPECT_EQ(out.status, 404);
    EXPECT_EQ(allocations_in([&] { serve(other, true, kNow); }), 0u);
    EXPECT_EQ(out.status, 405);
    EXPECT_EQ(allocations_in([&] { serve_error(431); }), 0u);
    // A miss does allocate (the entry and its strings): the counter sees the handler's heap use.
    const Req fresh_req = get("/index.html");
    const Request fresh = to_request(fresh_req);
    EXPECT_GT(allocations_in([&] { serve(fresh, true, kNow); }), 0u);
    // A new second revalidates (openat2 + fstat) an unchanged file: still no allocation.
    EXPECT_EQ(allocations_in([&] { serve(small, true, kNow + 1); }), 0u);
    EXPECT_EQ(out.status, 200);
}

TEST(RequestParserAllocations, ParsingDoesNotAllocate) {
    RequestParser parser({});
    const std::string wire =
        "GET /a HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"x\"\r\n\r\n"
        "POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    const size_t n = allocations_in([&] {
        size_t pos = 0;
        for (int guard = 0; guard < 10; ++guard) {
            const auto o = parser.execute(wire.data() + pos, wire.size() - pos);
            pos += o.consumed;
            if (o.event == RequestParser::Event::need_more) break;
        }
    });
    EXPECT_EQ(n, 0u);
    EXPECT_TRUE(parser.between_messages());
}

}  // namespace
}  // namespace minid::http
