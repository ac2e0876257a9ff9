// SessionStorage: memory for Http1Session objects, kept after a session ends and reused by the
// next one, so a connection-per-request load calls neither malloc nor free per connection
// (freed sessions arrive in bursts larger than glibc's per-size cache).
#pragma once

#include <cstddef>
#include <new>
#include <utility>
#include <vector>

namespace minid {

template <class T>
class SessionStorage {
  public:
    // Reserves room for `keep` pointers up front, so that giving memory back never allocates.
    explicit SessionStorage(size_t keep) : keep_(keep) { free_.reserve(keep); }
    ~SessionStorage() {
        for (void* b : free_) ::operator delete (b, std::align_val_t{alignof(T)});
    }
    SessionStorage(const SessionStorage&) = delete;
    SessionStorage& operator=(const SessionStorage&) = delete;

    template <class... Args>
    T* create(Args&&... args) {
        void* mem;
        if (free_.empty()) {
            mem = ::operator new (sizeof(T), std::align_val_t{alignof(T)});
        } else {
            mem = free_.back();
            free_.pop_back();
        }
        try {
            return ::new (mem) T(std::forward<Args>(args)...);
        } catch (...) {
            release(mem);
            throw;
        }
    }

    void destroy(T* obj) noexcept {
        if (!obj) return;
        obj->~T();
        release(obj);
    }

    size_t pooled() const { return free_.size(); }

  private:
    void release(void* mem) noexcept {
        if (free_.size() < keep_) {
            free_.push_back(mem);
            return;
        }
        ::operator delete (mem, std::align_val_t{alignof(T)});
    }

    size_t keep_;
    std::vector<void*> free_;
};

}  // namespace minid
