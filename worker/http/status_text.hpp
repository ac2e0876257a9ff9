// Reason phrases and the small HTML bodies of error responses.
#pragma once

#include <string_view>

namespace minid::http {

// "OK", "Not Found", ...; "Unknown" for a status minid never sends.
std::string_view reason_phrase(int status) noexcept;

// A short HTML page naming the status, e.g. for 404 "<!DOCTYPE html>...404 Not Found...".
// Static storage: the view stays valid for the life of the process.
std::string_view error_page(int status) noexcept;

}  // namespace minid::http
