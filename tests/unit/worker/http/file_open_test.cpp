// Tests for openat2 resolution beneath a root: symlinks inside and outside, errno mapping.
#include "worker/http/file_open.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <cerrno>

#include "tests/unit/worker/http/temp_tree.hpp"

namespace minid::http {
namespace {

class FileOpenTest : public ::testing::Test {
  protected:
    void SetUp() override {
        outside.write("secret.txt", "secret");
        tree.write("www/a.txt", "A");
        tree.write("www/dir/b.txt", "B");
        tree.symlink("a.txt", "www/link-in");
        tree.symlink("dir/../a.txt", "www/link-in-dotdot");
        tree.symlink("dir", "www/dirlink");
        tree.symlink(outside.path("secret.txt"), "www/link-abs-out");
        tree.symlink("../outside-rel", "www/link-rel-out");
        tree.symlink(outside.path(""), "www/dirlink-out");
        tree.symlink("loop", "www/loop");
        tree.fifo("www/fifo");
        root.reset(::open(tree.path("www").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        ASSERT_TRUE(root.valid());
    }

    int open_err(const char* rel) {
        const OpenedFile f = open_beneath(root.get(), rel);
        EXPECT_EQ(f.fd.valid(), f.err == 0) << rel;
        return f.err;
    }

    testing::TempTree tree;
    testing::TempTree outside;
    UniqueFd root;
};

TEST_F(FileOpenTest, OpensFilesAndTheRoot) {
    OpenedFile f = open_beneath(root.get(), "a.txt");
    ASSERT_TRUE(f.fd.valid());
    EXPECT_TRUE(S_ISREG(f.st.st_mode));
    EXPECT_EQ(f.st.st_size, 1);
    EXPECT_EQ(fcntl(f.fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    f = open_beneath(root.get(), "");
    ASSERT_TRUE(f.fd.valid());
    EXPECT_TRUE(S_ISDIR(f.st.st_mode));
    EXPECT_EQ(open_err("dir/b.txt"), 0);
}

TEST_F(FileOpenTest, SymlinksThatStayInsideWork) {
    EXPECT_EQ(open_err("link-in"), 0);
    EXPECT_EQ(open_err("link-in-dotdot"), 0);
    EXPECT_EQ(open_err("dirlink/b.txt"), 0);
}

TEST_F(FileOpenTest, EscapesFailAndMapTo404) {
    for (const char* rel : {"link-abs-out", "link-rel-out", "dirlink-out/secret.txt",
                            "../www/a.txt", "/etc/passwd", "dir/../../www/a.txt"}) {
        const int err = open_err(rel);
        EXPECT_NE(err, 0) << rel;
        EXPECT_EQ(status_for_open_error(err), 404) << rel << ": " << err;
    }
}

TEST_F(FileOpenTest, ErrnoToStatus) {
    EXPECT_EQ(status_for_open_error(open_err("missing")), 404);
    EXPECT_EQ(status_for_open_error(open_err("a.txt/x")), 404);  // ENOTDIR
    EXPECT_EQ(status_for_open_error(open_err("loop")), 403);     // ELOOP
    EXPECT_EQ(status_for_open_error(open_err(std::string(300, 'n').c_str())), 414);
    EXPECT_EQ(status_for_open_error(EACCES), 403);
    EXPECT_EQ(status_for_open_error(EPERM), 403);
    EXPECT_EQ(status_for_open_error(EIO), 500);
    EXPECT_EQ(status_for_open_error(EMFILE), 503);
    EXPECT_EQ(status_for_open_error(ENFILE), 503);
}

TEST_F(FileOpenTest, FifoOpensWithoutBlocking) {
    const OpenedFile f = open_beneath(root.get(), "fifo");
    ASSERT_TRUE(f.fd.valid());
    EXPECT_TRUE(S_ISFIFO(f.st.st_mode));
}

}  // namespace
}  // namespace minid::http
