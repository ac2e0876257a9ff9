// FileCache: a bounded LRU map from normalised request path to CachedFile. Lookups take a
// string_view and do not allocate; bounds cover entries, held fds and bytes in memory.
#pragma once

#include <cstdint>
#include <ctime>
#include <list>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "worker/http/cached_file.hpp"
#include "worker/http/file_cache_limits.hpp"

namespace minid::http {

class FileCache {
  public:
    struct Slot {
        std::shared_ptr<const CachedFile> file;
        std::time_t validated_at = 0;  // wall-clock second of the last check against the disk
    };

    explicit FileCache(FileCacheLimits limits) : limits_(limits) {}

    const FileCacheLimits& limits() const noexcept { return limits_; }

    // The slot for `key`, marked most recently used; nullptr if absent.
    Slot* find(std::string_view key) noexcept;

    // Inserts (or replaces the entry with the same key), then evicts least recently used
    // entries until the limits hold again. The returned slot stays valid until the next
    // insert/erase.
    Slot& insert(std::shared_ptr<const CachedFile> file, std::time_t validated_at);

    void erase(std::string_view key) noexcept;

    // Lets go of every entry that holds an fd (used when the process runs out of fds).
    void drop_open_files() noexcept;

    size_t size() const noexcept { return index_.size(); }
    size_t open_files() const noexcept { return open_files_; }
    uint64_t memory() const noexcept { return memory_; }

  private:
    using List = std::list<Slot>;

    void account(const CachedFile& f, int sign) noexcept;
    void remove(List::iterator it) noexcept;
    bool over_limits() const noexcept;

    FileCacheLimits limits_;
    List lru_;  // front: most recently used
    // Keys view the entry's own key string, which lives as long as the entry.
    std::unordered_map<std::string_view, List::iterator> index_;
    size_t open_files_ = 0;
    uint64_t memory_ = 0;
};

}  // namespace minid::http
