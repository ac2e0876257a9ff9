// HTTP date formatting and parsing by hand: gmtime/strptime depend on locale and TZ state,
// and the civil-date arithmetic below is exact for the whole time_t range we care about.
#include "worker/http/http_date.hpp"

#include <cstdint>
#include <cstring>

#include "worker/http/ascii.hpp"

namespace minid::http {

namespace {

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kLongDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                     "Thursday", "Friday", "Saturday"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
constexpr int64_t days_from_civil(int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
    int64_t year;
    unsigned month, day;
};

constexpr Civil civil_from_days(int64_t z) noexcept {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t y = static_cast<int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2), m, d};
}

constexpr bool is_leap(int64_t y) noexcept {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr unsigned days_in_month(int64_t y, unsigned m) noexcept {
    constexpr unsigned kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : kDaysIn[m - 1];
}

void put2(char* p, unsigned v) noexcept {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
}

// A small cursor over the input; every reader fails (returns false) without moving on a mismatch.
class Reader {
  public:
    explicit Reader(std::string_view s) : s_(s) {}
    bool done() const { return s_.empty(); }
    bool lit(std::string_view w) {
        if (s_.substr(0, w.size()) != w) return false;
        s_.remove_prefix(w.size());
        return true;
    }
    bool digits(size_t n, unsigned* out) {
        if (s_.size() < n) return false;
        unsigned v = 0;
        for (size_t i = 0; i < n; ++i) {
            if (!ascii::is_digit(s_[i])) return false;
            v = v * 10 + static_cast<unsigned>(s_[i] - '0');
        }
        s_.remove_prefix(n);
        *out = v;
        return true;
    }
    // Day names and month names are case-sensitive (RFC 9110 5.6.7).
    template <size_t N>
    bool one_of(const char* const (&names)[N], unsigned* index) {
        for (size_t i = 0; i < N; ++i) {
            if (lit(names[i])) {
                *index = static_cast<unsigned>(i);
                return true;
            }
        }
        return false;
    }
    bool time_of_day(unsigned* h, unsigned* m, unsigned* s) {
        return digits(2, h) && lit(":") && digits(2, m) && lit(":") && digits(2, s);
    }

  private:
    std::string_view s_;
};

std::optional<std::time_t> to_time(int64_t year, unsigned month, unsigned day, unsigned h,
                                   unsigned m, unsigned s) noexcept {
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return {};
    if (h > 23 || m > 59 || s > 60) return {};  // 60: a leap second is representable in text
    // The weekday name is not checked against the date: like nginx, a client's echo of
    // Last-Modified is trusted for its numbers.
    const int64_t days = days_from_civil(year, month, day);
    const int64_t t = days * 86400 + h * 3600 + m * 60 + (s == 60 ? 59 : s);
    return static_cast<std::time_t>(t);
}

}  // namespace

void format_http_date(std::time_t t, char* out) noexcept {
    const auto secs = static_cast<int64_t>(t);
    int64_t days = secs / 86400;
    int64_t rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        --days;
    }
    const Civil c = civil_from_days(days);
    const auto weekday = static_cast<unsigned>(((days % 7) + 11) % 7);
    std::memcpy(out, kDays[weekday], 3);
    out[3] = ',';
    out[4] = ' ';
    put2(out + 5, c.day);
    out[7] = ' ';
    std::memcpy(out + 8, kMonths[c.month - 1], 3);
    out[11] = ' ';
    // Four digits: years outside 0..9999 do not occur for file times worth serving.
    const auto y = static_cast<unsigned>(c.year < 0 ? 0 : (c.year > 9999 ? 9999 : c.year));
    put2(out + 12, y / 100);
    put2(out + 14, y % 100);
    out[16] = ' ';
    put2(out + 17, static_cast<unsigned>(rem / 3600));
    out[19] = ':';
    put2(out + 20, static_cast<unsigned>(rem / 60 % 60));
    out[22] = ':';
    put2(out + 23, static_cast<unsigned>(rem % 60));
    std::memcpy(out + 25, " GMT", 4);
}

std::optional<std::time_t> parse_http_date(std::string_view text) noexcept {
    unsigned wd = 0, day = 0, mon = 0, year = 0, h = 0, m = 0, s = 0;
    {
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        Reader r(text);
        if (r.one_of(kDays, &wd) && r.lit(", ") && r.digits(2, &day) && r.lit(" ") &&
            r.one_of(kMonths, &mon) && r.lit(" ") && r.digits(4, &year) && r.lit(" ") &&
            r.time_of_day(&h, &m, &s) && r.lit(" GMT") && r.done()) {
            return to_time(year, mon + 1, day, h, m, s);
        }
    }
    {
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
        Reader r(text);
        if (r.one_of(kLongDays, &wd) && r.lit(", ") && r.digits(2, &day) && r.lit("-") &&
            r.one_of(kMonths, &mon) && r.lit("-") && r.digits(2, &year) && r.lit(" ") &&
            r.time_of_day(&h, &m, &s) && r.lit(" GMT") && r.done()) {
            // Two-digit years: RFC 9110 says to pick the century that is not more than 50
            // years in the future; 70..99 -> 19xx, 00..69 -> 20xx is that rule for today.
            const int64_t full = year >= 70 ? 1900 + year : 2000 + year;
            return to_time(full, mon + 1, day, h, m, s);
        }
    }
    {
        // asctime: Sun Nov  6 08:49:37 1994
        Reader r(text);
        if (r.one_of(kDays, &wd) && r.lit(" ") && r.one_of(kMonths, &mon) && r.lit(" ")) {
            unsigned d1 = 0;
            const bool day_ok = (r.lit(" ") && r.digits(1, &d1)) || r.digits(2, &d1);
            if (day_ok && r.lit(" ") && r.time_of_day(&h, &m, &s) && r.lit(" ") &&
                r.digits(4, &year) && r.done()) {
                return to_time(year, mon + 1, d1, h, m, s);
            }
        }
    }
    return std::nullopt;
}

}  // namespace minid::http
