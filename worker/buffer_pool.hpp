// BufferPool: fixed-size input buffers lent to connections only while they hold a partial
// request, so thousands of idle keep-alive connections cost no buffer memory and busy ones
// never call malloc per request.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace minid {

class BufferPool {
  public:
    BufferPool(size_t buffer_size, size_t keep) : size_(buffer_size), keep_(keep) {}

    size_t buffer_size() const { return size_; }

    std::unique_ptr<char[]> acquire() {
        if (free_.empty()) return std::unique_ptr<char[]>(new char[size_]);
        auto b = std::move(free_.back());
        free_.pop_back();
        return b;
    }

    void release(std::unique_ptr<char[]> b) {
        if (b && free_.size() < keep_) free_.push_back(std::move(b));
    }

  private:
    size_t size_;
    size_t keep_;
    std::vector<std::unique_ptr<char[]>> free_;
};

}  // namespace minid
