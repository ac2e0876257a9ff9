// UvHandle<T>: owns a heap-allocated libuv handle. libuv may only free a handle's memory in its
// close callback, so destruction requests uv_close() and the callback deletes the storage;
// closing twice is harmless.
#pragma once

#include <uv.h>

#include <utility>

namespace minid {

template <typename T>
class UvHandle {
  public:
    UvHandle() = default;
    UvHandle(const UvHandle&) = delete;
    UvHandle& operator=(const UvHandle&) = delete;
    UvHandle(UvHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    UvHandle& operator=(UvHandle&& o) noexcept {
        if (this != &o) {
            close();
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    ~UvHandle() { close(); }

    // Allocates fresh storage; the caller then runs uv_xxx_init on get().
    T* make() {
        close();
        h_ = new T{};
        return h_;
    }
    T* get() const { return h_; }
    uv_handle_t* base() const { return reinterpret_cast<uv_handle_t*>(h_); }
    explicit operator bool() const { return h_ != nullptr; }

    // Closes and forgets the handle; memory goes away in the close callback. For a handle that
    // was allocated but whose init failed, libuv never saw it, so it is deleted directly.
    void close() {
        if (!h_) return;
        T* h = std::exchange(h_, nullptr);
        auto* base = reinterpret_cast<uv_handle_t*>(h);
        if (base->loop == nullptr) {
            delete h;
            return;
        }
        base->data = nullptr;
        if (!uv_is_closing(base))
            uv_close(base, [](uv_handle_t* p) { delete reinterpret_cast<T*>(p); });
    }

  private:
    T* h_ = nullptr;
};

}  // namespace minid
