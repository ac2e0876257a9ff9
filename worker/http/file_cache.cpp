// FileCache: list + hash map LRU; splice() makes a hit O(1) and allocation-free.
#include "worker/http/file_cache.hpp"

namespace minid::http {

FileCache::Slot* FileCache::find(std::string_view key) noexcept {
    const auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return &*it->second;
}

void FileCache::account(const CachedFile& f, int sign) noexcept {
    const uint64_t cost = f.memory_cost();
    if (sign > 0) {
        memory_ += cost;
        if (f.file) ++open_files_;
    } else {
        memory_ -= cost;
        if (f.file) --open_files_;
    }
}

void FileCache::remove(List::iterator it) noexcept {
    account(*it->file, -1);
    index_.erase(std::string_view(it->file->key));
    lru_.erase(it);
}

bool FileCache::over_limits() const noexcept {
    return index_.size() > limits_.max_entries || open_files_ > limits_.max_open_files ||
           memory_ > limits_.max_memory;
}

FileCache::Slot& FileCache::insert(std::shared_ptr<const CachedFile> file,
                                   std::time_t validated_at) {
    erase(file->key);
    account(*file, +1);
    lru_.push_front(Slot{std::move(file), validated_at});
    index_.emplace(std::string_view(lru_.front().file->key), lru_.begin());
    // Never evict the entry just added: the caller is about to use it.
    while (over_limits() && lru_.size() > 1) remove(std::prev(lru_.end()));
    return lru_.front();
}

void FileCache::erase(std::string_view key) noexcept {
    const auto it = index_.find(key);
    if (it != index_.end()) remove(it->second);
}

void FileCache::drop_open_files() noexcept {
    for (auto it = lru_.begin(); it != lru_.end();) {
        const auto next = std::next(it);
        if (it->file->file) remove(it);
        it = next;
    }
}

}  // namespace minid::http
