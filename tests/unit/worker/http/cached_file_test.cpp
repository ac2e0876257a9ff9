// Tests for building cache entries from opened files.
#include "worker/http/cached_file.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include "tests/unit/worker/http/temp_tree.hpp"

namespace minid::http {
namespace {

class CachedFileTest : public ::testing::Test {
  protected:
    void SetUp() override {
        tree.write("small.css", "body{}");
        tree.set_mtime("small.css", 784111777);
        tree.write("large.dat", std::string(5000, 'L'));
        root.reset(::open(tree.root().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        ASSERT_TRUE(root.valid());
    }
    testing::TempTree tree;
    UniqueFd root;
};

TEST_F(CachedFileTest, SmallFileIsReadIntoMemory) {
    auto f = load_cached_file("k/", "small.css", open_beneath(root.get(), "small.css"), 4096);
    EXPECT_EQ(f->key, "k/");
    EXPECT_EQ(f->open_path, "small.css");
    EXPECT_TRUE(f->in_memory);
    EXPECT_EQ(f->file, nullptr);
    EXPECT_EQ(f->body, "body{}");
    EXPECT_EQ(f->size, 6u);
    EXPECT_EQ(f->mtime, 784111777);
    EXPECT_EQ(f->etag, "\"2ebc98a1-6\"");
    EXPECT_EQ(f->last_modified_text(), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(f->content_type, "text/css; charset=utf-8");
    EXPECT_EQ(f->full_fields,
              "Content-Type: text/css; charset=utf-8\r\nContent-Length: 6\r\n"
              "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\nETag: \"2ebc98a1-6\"\r\n"
              "Accept-Ranges: bytes\r\n");
}

TEST_F(CachedFileTest, LargeFileKeepsItsFd) {
    auto f =
        load_cached_file("large.dat", "large.dat", open_beneath(root.get(), "large.dat"), 4096);
    EXPECT_FALSE(f->in_memory);
    EXPECT_TRUE(f->body.empty());
    ASSERT_NE(f->file, nullptr);
    EXPECT_TRUE(f->file->fd.valid());
    EXPECT_EQ(f->file->size, 5000u);
    EXPECT_EQ(f->content_type, "application/octet-stream");
}

TEST_F(CachedFileTest, IdentityTracksReplacement) {
    const OpenedFile a = open_beneath(root.get(), "small.css");
    tree.write("other.css", "body{}");
    tree.set_mtime("other.css", 784111777);
    const OpenedFile b = open_beneath(root.get(), "other.css");
    EXPECT_EQ(FileIdentity::of(a.st), FileIdentity::of(a.st));
    EXPECT_FALSE(FileIdentity::of(a.st) == FileIdentity::of(b.st));  // same size and time
}

}  // namespace
}  // namespace minid::http
