// AcmeChallengeHandler: the key authorization for a challenge token.
#include "worker/acme_challenge_handler.hpp"

#include <memory>

#include "worker/http/exchange.hpp"

namespace minid {

bool AcmeChallengeHandler::valid_token(std::string_view token) {
    if (token.empty() || token.size() > 256) return false;
    for (char c : token) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) return false;
    }
    return true;
}

void AcmeChallengeHandler::handle(http::Exchange& ex) {
    const http::Request& req = ex.request();
    std::string_view token = std::string_view(req.target).substr(kPrefix.size());
    http::Response& out = ex.response();
    if (!valid_token(token) ||
        (req.method != http::Method::get && req.method != http::Method::head)) {
        pages_.error(404, ex.now(), out);
        ex.respond();
        return;
    }
    auto body = std::make_shared<std::string>();
    body->reserve(token.size() + 1 + thumbprint_.size());
    body->append(token).append(".").append(thumbprint_);
    out.reset(200);
    out.head.field("Content-Type", "application/octet-stream");
    out.head.field("Content-Length", static_cast<uint64_t>(body->size()));
    out.head.field("Cache-Control", "no-store");
    if (req.method != http::Method::head) {
        out.body_kind = http::Response::BodyKind::memory;
        out.memory = *body;
        out.body_length = body->size();
        out.memory_owner = std::move(body);
    }
    ex.respond();
}

}  // namespace minid
