// Tests for FileCache: LRU order, replacement, and each of its bounds.
#include "worker/http/file_cache.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <string>

namespace minid::http {
namespace {

std::shared_ptr<CachedFile> entry(const std::string& key, size_t body_bytes, bool with_fd = false) {
    auto f = std::make_shared<CachedFile>();
    f->key = key;
    f->open_path = key;
    if (with_fd) {
        auto of = std::make_shared<OpenFile>();
        of->fd.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        f->file = std::move(of);
    } else {
        f->in_memory = true;
        f->body.assign(body_bytes, 'x');
    }
    return f;
}

TEST(FileCache, FindInsertReplaceErase) {
    FileCache c(FileCacheLimits{});
    EXPECT_EQ(c.find("a"), nullptr);
    c.insert(entry("a", 1), 10);
    FileCache::Slot* s = c.find("a");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->validated_at, 10);
    EXPECT_EQ(s->file->body, "x");
    c.insert(entry("a", 3), 11);
    EXPECT_EQ(c.size(), 1u);
    EXPECT_EQ(c.find("a")->file->body, "xxx");
    EXPECT_EQ(c.memory(), 3u + 2);  // body + key + open_path
    c.erase("a");
    EXPECT_EQ(c.size(), 0u);
    EXPECT_EQ(c.memory(), 0u);
    c.erase("missing");
}

TEST(FileCache, EvictsLeastRecentlyUsedEntries) {
    FileCacheLimits l;
    l.max_entries = 2;
    FileCache c(l);
    c.insert(entry("a", 1), 0);
    c.insert(entry("b", 1), 0);
    ASSERT_NE(c.find("a"), nullptr);  // "b" becomes the oldest
    c.insert(entry("c", 1), 0);
    EXPECT_NE(c.find("a"), nullptr);
    EXPECT_EQ(c.find("b"), nullptr);
    EXPECT_NE(c.find("c"), nullptr);
}

TEST(FileCache, BoundsMemory) {
    FileCacheLimits l;
    l.max_memory = 100;
    FileCache c(l);
    c.insert(entry("a", 40), 0);
    c.insert(entry("b", 40), 0);
    c.insert(entry("c", 40), 0);
    EXPECT_EQ(c.find("a"), nullptr);
    EXPECT_LE(c.memory(), 100u);
    // An entry above the whole budget is still kept while it is the only one in use.
    c.insert(entry("huge", 500), 0);
    EXPECT_NE(c.find("huge"), nullptr);
    EXPECT_EQ(c.size(), 1u);
}

TEST(FileCache, BoundsOpenFilesAndCanDropThem) {
    FileCacheLimits l;
    l.max_open_files = 2;
    FileCache c(l);
    c.insert(entry("f1", 0, true), 0);
    c.insert(entry("m", 10), 0);
    c.insert(entry("f2", 0, true), 0);
    c.insert(entry("f3", 0, true), 0);
    EXPECT_EQ(c.open_files(), 2u);
    EXPECT_EQ(c.find("f1"), nullptr);
    EXPECT_NE(c.find("m"), nullptr);
    c.drop_open_files();
    EXPECT_EQ(c.open_files(), 0u);
    EXPECT_EQ(c.size(), 1u);
    EXPECT_NE(c.find("m"), nullptr);
}

TEST(FileCache, EvictedEntriesStayAliveWhileShared) {
    FileCacheLimits l;
    l.max_entries = 1;
    FileCache c(l);
    c.insert(entry("a", 5), 0);
    std::shared_ptr<const CachedFile> held = c.find("a")->file;
    c.insert(entry("b", 5), 0);
    EXPECT_EQ(c.find("a"), nullptr);
    EXPECT_EQ(held->body, "xxxxx");
}

}  // namespace
}  // namespace minid::http
