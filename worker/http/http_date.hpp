// HTTP dates (RFC 9110 5.6.7): IMF-fixdate output, and input in all three accepted forms.
#pragma once

#include <cstddef>
#include <ctime>
#include <optional>
#include <string_view>

namespace minid::http {

inline constexpr size_t kHttpDateLength = 29;  // "Sun, 06 Nov 1994 08:49:37 GMT"

// Writes the IMF-fixdate of `t` (UTC) into out[0, 29). No allocation, no locale, no TZ.
void format_http_date(std::time_t t, char* out) noexcept;

// Accepts IMF-fixdate, RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime
// ("Sun Nov  6 08:49:37 1994"). Anything else is nullopt (callers then ignore the field).
std::optional<std::time_t> parse_http_date(std::string_view text) noexcept;

// The Date header value, formatted at most once per second.
class DateCache {
  public:
    std::string_view get(std::time_t now) noexcept {
        if (now != second_) {
            format_http_date(now, text_);
            second_ = now;
        }
        return {text_, kHttpDateLength};
    }

  private:
    std::time_t second_ = -1;
    char text_[kHttpDateLength] = {};
};

}  // namespace minid::http
