// Fuzz target: request-target decoding and normalisation, and resolution beneath the root.
// The decoder is compared with a plain reference implementation of the same rules; a decoded
// path must re-encode and decode to itself, and opening it never reaches outside the root.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.hpp"
#include "tests/fuzz/fuzz_site.hpp"
#include "worker/http/ascii.hpp"
#include "worker/http/file_open.hpp"
#include "worker/http/target_path.hpp"

namespace {

using minid::fuzz::FuzzSite;
using namespace minid::http;

struct Reference {
    int status = 0;
    std::string path;
    bool directory = false;
};

// The documented rules, written for clarity rather than speed: strip an http(s) authority,
// cut the query/fragment, percent-decode (a NUL or a bad escape is 400), then resolve dot
// segments with a stack (climbing above the root is 400) and refuse dot-segments (404).
Reference reference_decode(std::string_view target) {
    Reference r;
    std::string_view rest = target;
    if (target.empty()) return {400, {}, false};
    if (target[0] != '/') {
        size_t skip = 0;
        if (target.size() >= 7 && ascii::iequals(target.substr(0, 7), "http://")) skip = 7;
        if (target.size() >= 8 && ascii::iequals(target.substr(0, 8), "https://")) skip = 8;
        if (skip == 0) return {400, {}, false};
        const std::string_view after = target.substr(skip);
        const size_t end = after.find_first_of("/?#");
        if (after.empty() || end == 0) return {400, {}, false};
        rest = end == std::string_view::npos ? std::string_view{} : after.substr(end);
    }
    std::string_view raw = rest.substr(0, rest.find_first_of("?#"));
    std::string decoded = raw.empty() ? "/" : "";
    for (size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == '%') {
            if (i + 2 >= raw.size() || ascii::hex_value(raw[i + 1]) < 0 ||
                ascii::hex_value(raw[i + 2]) < 0)
                return {400, {}, false};
            c = static_cast<char>(ascii::hex_value(raw[i + 1]) * 16 + ascii::hex_value(raw[i + 2]));
            i += 2;
        }
        if (c == '\0') return {400, {}, false};
        decoded.push_back(c);
    }
    // origin-form paths start with '/'; decoded[0] == '/' always holds here.
    std::vector<std::string> stack;
    bool directory = false;
    size_t i = 0;
    while (i < decoded.size()) {
        const size_t start = i + 1;
        size_t end = decoded.find('/', start);
        const bool last = end == std::string::npos;
        if (last) end = decoded.size();
        const std::string seg = decoded.substr(start, end - start);
        if (seg.empty() || seg == ".") {
            if (last) directory = true;
        } else if (seg == "..") {
            if (stack.empty()) return {400, {}, false};
            stack.pop_back();
            if (last) directory = true;
        } else {
            stack.push_back(seg);
            if (last) directory = false;
        }
        i = end;
    }
    for (size_t k = 0; k < stack.size(); ++k) {
        if (stack[k][0] == '.' && !(k == 0 && stack[k] == ".well-known")) return {404, {}, false};
        r.path += stack[k];
        if (k + 1 < stack.size() || directory) r.path += '/';
    }
    r.directory = directory;
    return r;
}

int root_fd() {
    static const int fd = ::open(FuzzSite::get().root().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) minid::fuzz::fail("open root");
    return fd;
}

// The path an open fd refers to, from /proc.
std::string fd_path(int fd) {
    char link[4096];
    const std::string p = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = ::readlink(p.c_str(), link, sizeof link - 1);
    if (n <= 0) return {};
    return std::string(link, static_cast<size_t>(n));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    root_fd();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view target(reinterpret_cast<const char*>(data), size);
    static TargetDecoder decoder;
    const TargetPath t = decoder.decode(target);
    const Reference ref = reference_decode(target);

    MINID_FUZZ_CHECK(t.status == ref.status);
    if (t.status != 0) return 0;
    MINID_FUZZ_CHECK(t.path == ref.path);
    MINID_FUZZ_CHECK(t.directory == ref.directory);

    // Structural invariants of a usable path.
    MINID_FUZZ_CHECK(t.path.empty() || t.path.front() != '/');
    MINID_FUZZ_CHECK(t.path.find('\0') == std::string_view::npos);
    MINID_FUZZ_CHECK(t.path.find("//") == std::string_view::npos);
    MINID_FUZZ_CHECK(t.directory == (t.path.empty() || t.path.back() == '/'));
    if (t.has_query) {
        MINID_FUZZ_CHECK(t.query.data() >= target.data() &&
                         t.query.data() + t.query.size() <= target.data() + target.size());
        MINID_FUZZ_CHECK(t.query.find('#') == std::string_view::npos);
    }

    // Round trip through the Location encoding used for redirects.
    const std::string path(t.path);
    std::string encoded;
    append_encoded_path(encoded, path);
    for (char c : encoded) {
        const auto u = static_cast<unsigned char>(c);
        MINID_FUZZ_CHECK(u > 0x20 && u < 0x7f && c != '?' && c != '#');
    }
    TargetDecoder again;
    const TargetPath t2 = again.decode(encoded);
    MINID_FUZZ_CHECK(t2.status == 0 && t2.path == path);

    // Resolution: whatever opens must be the root itself or beneath it.
    OpenedFile f = open_beneath(root_fd(), path.c_str());
    if (f.fd) {
        const std::string where = fd_path(f.fd.get());
        const std::string& root = FuzzSite::get().root();
        MINID_FUZZ_CHECK(where == root || where.compare(0, root.size() + 1, root + "/") == 0);
    } else {
        const int s = status_for_open_error(f.err);
        MINID_FUZZ_CHECK(s == 404 || s == 403 || s == 414 || s == 500);
    }
    return 0;
}
