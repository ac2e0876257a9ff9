// Exchange: request ownership, the respond/write hand-over and cancellation.
#include "worker/http/exchange.hpp"

#include <algorithm>

namespace minid::http {

void Exchange::begin(Owner* owner, const Request& request, const sockaddr* peer, std::time_t now) {
    owner_ = owner;
    producer_ = nullptr;
    body_reader_ = nullptr;
    phase_ = Phase::handling;
    request_ = &request;
    request_owned_ = false;
    peer_ = peer;
    now_ = now;
    stream_data_ = {};
    stream_last_ = false;
    body_bytes_sent = 0;
    secure = false;
    upstream_status = 0;
    upstream_ms = 0;
}

void Exchange::own_request() {
    if (request_owned_) return;
    request_owned_ = true;
    owned_request_ = *request_;
    request_ = &owned_request_;
    // Every view points into one contiguous request head: copy the span they cover and move
    // each view onto the copy.
    const char* lo = nullptr;
    const char* hi = nullptr;
    auto cover = [&](std::string_view v) {
        if (v.data() == nullptr || v.empty()) return;
        if (lo == nullptr || v.data() < lo) lo = v.data();
        if (hi == nullptr || v.data() + v.size() > hi) hi = v.data() + v.size();
    };
    Request& r = owned_request_;
    std::string_view* views[] = {&r.method_name,       &r.target,  &r.host,
                                 &r.if_none_match,     &r.range,   &r.if_range,
                                 &r.if_modified_since, &r.referer, &r.user_agent};
    for (std::string_view* v : views) cover(*v);
    for (uint32_t i = 0; i < r.header_count; ++i) {
        cover(r.headers[i].name);
        cover(r.headers[i].value);
    }
    headers_.assign(r.headers, r.headers + r.header_count);
    if (lo == nullptr) {
        r.headers = headers_.data();
        return;
    }
    arena_.assign(lo, static_cast<size_t>(hi - lo));
    auto move = [&](std::string_view& v) {
        if (v.data() == nullptr || v.empty()) return;
        v = std::string_view(arena_.data() + (v.data() - lo), v.size());
    };
    for (std::string_view* v : views) move(*v);
    for (Header& h : headers_) {
        move(h.name);
        move(h.value);
    }
    r.headers = headers_.data();
}

void Exchange::respond() {
    if (phase_ != Phase::handling) return;
    phase_ = Phase::responded;
    if (owner_) owner_->exchange_responded(*this);
}

void Exchange::write(std::string_view data, bool last) {
    if (phase_ != Phase::responded || stream_last_) return;
    stream_data_ = data;
    stream_last_ = last;
    if (owner_) owner_->exchange_wrote(*this);
}

void Exchange::abort() {
    if (phase_ != Phase::responded) return;
    producer_ = nullptr;
    if (owner_) owner_->exchange_aborted(*this);
}

void Exchange::ask_for_more() {
    if (producer_ && !stream_last_) producer_->proceed(*this);
}

void Exchange::cancel() {
    if (phase_ == Phase::complete || phase_ == Phase::idle) return;
    phase_ = Phase::complete;
    if (Producer* p = std::exchange(producer_, nullptr)) p->cancel(*this);
}

void Exchange::reset() {
    owner_ = nullptr;
    producer_ = nullptr;
    body_reader_ = nullptr;
    phase_ = Phase::idle;
    if (request_owned_) owned_request_ = Request{};
    request_ = &owned_request_;
    request_owned_ = false;
    peer_ = nullptr;
    stream_data_ = {};
    stream_last_ = false;
    body_bytes_sent = 0;
    secure = false;
    upstream_status = 0;
    upstream_ms = 0;
    tunnel.reset();
    response_.reset(200);
    // arena_ and headers_ keep their capacity for the next owner.
}

}  // namespace minid::http
