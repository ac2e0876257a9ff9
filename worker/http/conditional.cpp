// Precondition evaluation for static files.
#include "worker/http/conditional.hpp"

#include "worker/http/ascii.hpp"
#include "worker/http/etag.hpp"
#include "worker/http/http_date.hpp"

namespace minid::http {

bool is_not_modified(std::string_view if_none_match, std::string_view if_modified_since,
                     std::string_view etag, std::time_t mtime) noexcept {
    if (if_none_match.data() != nullptr && !ascii::trim_ows(if_none_match).empty()) {
        return if_none_match_matches(if_none_match, etag);
    }
    if (if_modified_since.empty()) return false;
    const auto since = parse_http_date(ascii::trim_ows(if_modified_since));
    return since.has_value() && mtime <= *since;
}

bool if_range_allows(std::string_view if_range, std::string_view etag, std::time_t mtime) noexcept {
    if_range = ascii::trim_ows(if_range);
    if (if_range.empty()) return true;
    if (if_range.front() == '"' || if_range.substr(0, 2) == "W/") {
        return etag_strong_equal(if_range, etag);
    }
    const auto date = parse_http_date(if_range);
    return date.has_value() && *date == mtime;
}

}  // namespace minid::http
