// Handler: turns an Exchange's request into its response, now or later. The static file
// handler, and later the proxy and the ACME challenge responder, implement it; the router
// picks one per request.
#pragma once

namespace minid::http {

class Exchange;

class Handler {
  public:
    virtual ~Handler() = default;
    // Answers with ex.respond(), before returning or later. A handler that answers later (or
    // streams a body) registers an Exchange::Producer, which is told when to go on and when the
    // exchange is cancelled; after cancel() it must not touch the exchange again.
    virtual void handle(Exchange& ex) = 0;
};

}  // namespace minid::http
