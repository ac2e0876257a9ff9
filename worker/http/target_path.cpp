// Target decoding: scheme/authority stripping, percent-decoding, dot-segment merging in place.
#include "worker/http/target_path.hpp"

#include <cstring>

#include "worker/http/ascii.hpp"

namespace minid::http {

namespace {

// The first of `chars` in `s`, or npos. std::string_view::find_first_of calls memchr on the
// set once per byte of `s`: a tenth of the worker's request parsing, for a short target.
size_t find_any(std::string_view s, std::string_view chars) noexcept {
    for (size_t i = 0; i < s.size(); ++i)
        for (const char c : chars)
            if (s[i] == c) return i;
    return std::string_view::npos;
}

// Strips "http://authority" or "https://authority"; false if `target` is neither that nor
// origin-form. `*rest` becomes what follows the authority (may be "" or start with '?').
bool split_absolute_form(std::string_view target, std::string_view* rest) {
    std::string_view after;
    if (target.size() >= 7 && ascii::iequals(target.substr(0, 7), "http://")) {
        after = target.substr(7);
    } else if (target.size() >= 8 && ascii::iequals(target.substr(0, 8), "https://")) {
        after = target.substr(8);
    } else {
        return false;
    }
    const size_t end = find_any(after, "/?#");
    if (end == 0 || after.empty()) return false;  // empty authority
    *rest = end == std::string_view::npos ? std::string_view{} : after.substr(end);
    return true;
}

bool segment_is_dotfile(std::string_view seg, bool first) {
    return !seg.empty() && seg.front() == '.' && !(first && seg == ".well-known");
}

}  // namespace

TargetPath TargetDecoder::decode(std::string_view target) {
    TargetPath r;
    std::string_view rest = target;
    if (target.empty()) {
        r.status = 400;
        return r;
    }
    if (target.front() != '/') {
        if (!split_absolute_form(target, &rest)) {
            r.status = 400;
            return r;
        }
    }
    const size_t qpos = find_any(rest, "?#");
    const std::string_view raw_path = rest.substr(0, qpos);
    if (qpos != std::string_view::npos && rest[qpos] == '?') {
        r.has_query = true;
        r.query = rest.substr(qpos + 1);
        r.query = r.query.substr(0, r.query.find('#'));
    }

    buf_.clear();
    if (raw_path.empty()) buf_.push_back('/');  // "http://host" and "http://host?q" mean "/"
    for (size_t i = 0; i < raw_path.size(); ++i) {
        char c = raw_path[i];
        if (c == '%') {
            const int hi = i + 2 < raw_path.size() ? ascii::hex_value(raw_path[i + 1]) : -1;
            const int lo = hi >= 0 ? ascii::hex_value(raw_path[i + 2]) : -1;
            if (lo < 0) {
                r.status = 400;
                return r;
            }
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') {
            r.status = 400;
            return r;
        }
        buf_.push_back(c);
    }

    // Merge dot-segments and empty segments in place (RFC 3986 5.2.4 semantics). Output is
    // "seg/seg/..." at the front of buf_; it never overtakes the input it is read from.
    char* const b = buf_.data();
    const size_t n = buf_.size();
    size_t w = 0;
    size_t i = 0;
    bool directory = false;
    while (i < n) {
        const size_t start = i + 1;  // b[i] == '/'
        const char* slash = static_cast<const char*>(std::memchr(b + start, '/', n - start));
        const size_t end = slash == nullptr ? n : static_cast<size_t>(slash - b);
        const size_t len = end - start;
        const bool last = end == n;
        if (len == 0 || (len == 1 && b[start] == '.')) {
            if (last) directory = true;
        } else if (len == 2 && b[start] == '.' && b[start + 1] == '.') {
            if (w == 0) {
                r.status = 400;  // would climb above the root
                return r;
            }
            size_t p = w - 1;  // b[w - 1] is the '/' after the last output segment
            while (p > 0 && b[p - 1] != '/') --p;
            w = p;
            if (last) directory = true;
        } else {
            std::memmove(b + w, b + start, len);
            w += len;
            b[w++] = '/';
            if (last) directory = false;
        }
        i = end;
    }
    if (!directory && w > 0) --w;  // drop the separator after the final file name
    buf_.resize(w);

    std::string_view out(buf_);
    for (size_t pos = 0, idx = 0; pos < out.size(); ++idx) {
        size_t slash = out.find('/', pos);
        if (slash == std::string_view::npos) slash = out.size();
        if (segment_is_dotfile(out.substr(pos, slash - pos), idx == 0)) {
            r.status = 404;
            return r;
        }
        pos = slash + 1;
    }
    r.path = out;
    r.directory = directory;
    return r;
}

void append_encoded_path(std::string& out, std::string_view path) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    out.push_back('/');
    for (char ch : path) {
        const auto c = static_cast<unsigned char>(ch);
        const bool literal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || std::strchr("-._~!$&'()*+,;=:@/", ch);
        if (literal && c != 0) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
}

}  // namespace minid::http
