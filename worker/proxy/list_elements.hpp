// for_each_list_element: the elements of a comma-separated field value (RFC 9110 5.6.1), for
// the Connection tokens that both directions of the proxy act on.
#pragma once

#include <string_view>

#include "worker/http/ascii.hpp"

namespace minid::proxy {

// Calls fn(element) for each non-empty element, without its surrounding whitespace.
template <typename Fn>
void for_each_list_element(std::string_view value, Fn&& fn) {
    while (!value.empty()) {
        const size_t comma = value.find(',');
        const std::string_view element = http::ascii::trim_ows(value.substr(0, comma));
        value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
        if (!element.empty()) fn(element);
    }
}

}  // namespace minid::proxy
