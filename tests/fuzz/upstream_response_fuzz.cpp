// Fuzz target: the parser of an upstream's responses (worker/proxy/upstream_response_parser),
// bytes an app server or anything on its socket may send. The first byte picks the request
// kind (HEAD, upgrade) and a split point; the rest is fed once whole and once in two pieces,
// and both runs must agree on every event, the body, completion, reuse and success, so a
// response never frames differently depending on how it arrived.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "worker/proxy/upstream_response_parser.hpp"

namespace {

using minid::proxy::UpstreamResponseHead;
using minid::proxy::UpstreamResponseParser;

struct Trace final : UpstreamResponseParser::Sink {
    std::vector<int> statuses;  // informational and final, in order
    std::string body;
    int completions = 0;
    int framing = -1;
    uint64_t length = 0;

    void on_informational(const UpstreamResponseHead& h) override { statuses.push_back(h.status); }
    void on_head(const UpstreamResponseHead& h) override {
        statuses.push_back(h.status);
        framing = static_cast<int>(h.framing);
        length = h.content_length;
    }
    void on_body(std::string_view data) override { body.append(data); }
    void on_complete() override { ++completions; }
    bool operator==(const Trace& o) const {
        return statuses == o.statuses && body == o.body && completions == o.completions &&
               framing == o.framing && length == o.length;
    }
};

struct Outcome {
    Trace trace;
    bool ok = true;
    bool complete = false;
    bool reusable = false;
};

Outcome run(std::string_view input, size_t split, bool head, bool upgrade, bool at_eof) {
    Outcome out;
    UpstreamResponseParser parser(1024);  // a small head limit reaches the limit paths too
    parser.begin(&out.trace, head, upgrade);
    const std::string_view pieces[] = {input.substr(0, split), input.substr(split)};
    for (std::string_view piece : pieces) {
        // Each piece in its own exactly sized buffer, so ASan sees any read past it.
        std::vector<char> copy(piece.begin(), piece.end());
        // Fed even after the message completed: stray bytes must count in both runs.
        if (out.ok) out.ok = parser.feed(std::string_view(copy.data(), copy.size())).ok();
    }
    if (out.ok && at_eof) out.ok = parser.finish().ok();
    out.complete = parser.complete();
    out.reusable = parser.reusable();
    if (out.ok && out.complete && upgrade) (void)parser.take_upgrade_leftover();
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint8_t mode = data[0];
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
    const bool head = mode & 1;
    const bool upgrade = mode & 2;
    const bool at_eof = mode & 4;
    const size_t split = input.empty() ? 0 : (mode >> 3) * input.size() / 31;
    const Outcome whole = run(input, input.size(), head, upgrade, at_eof);
    const Outcome split_run = run(input, split, head, upgrade, at_eof);
    if (whole.ok != split_run.ok) std::abort();
    if (whole.ok && (!(whole.trace == split_run.trace) || whole.complete != split_run.complete ||
                     whole.reusable != split_run.reusable))
        std::abort();
    if (whole.reusable && !whole.complete) std::abort();
    return 0;
}
