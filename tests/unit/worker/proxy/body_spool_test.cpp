// Tests for BodySpool: memory under the bound, an unnamed temp file past it (both ways of
// making one), reading back, clearing, and errors that name the directory.
#include "worker/proxy/body_spool.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <type_traits>

namespace minid::proxy {
namespace {

// A directory of its own under TMPDIR (or /tmp), removed with whatever is left in it.
class TempDir {
  public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        path_ = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                "/minid-spool-test-XXXXXX";
        EXPECT_NE(::mkdtemp(path_.data()), nullptr);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::string& path() const { return path_; }
    // An unnamed file leaves no name in the directory.
    bool empty() const { return std::filesystem::is_empty(path_); }

  private:
    std::string path_;
};

std::string fd_link(int fd) {
    char buf[512];
    const std::string proc = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = ::readlink(proc.c_str(), buf, sizeof buf - 1);
    if (n < 0) return "";
    return std::string(buf, static_cast<size_t>(n));
}

bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string read_all(const BodySpool& spool, size_t piece) {
    std::string out;
    std::string buf(piece, '\0');
    for (;;) {
        Result<size_t> n = spool.read_at(out.size(), buf.data(), buf.size());
        EXPECT_TRUE(n.ok()) << (n.ok() ? "" : n.error());
        if (!n.ok() || *n == 0) return out;
        out.append(buf, 0, *n);
    }
}

// Bytes that differ from position to position, so a misplaced piece shows.
std::string pattern(size_t n, size_t seed) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7) % 251);
    return s;
}

// A spool travels with the request or connection that owns it.
static_assert(std::is_nothrow_move_constructible_v<BodySpool>);
static_assert(std::is_nothrow_move_assignable_v<BodySpool>);

TEST(BodySpool, StaysInMemoryUpToTheBound) {
    TempDir dir;
    BodySpool spool(100, dir.path());
    EXPECT_EQ(spool.size(), 0u);
    ASSERT_TRUE(spool.append(std::string(60, 'a')).ok());
    ASSERT_TRUE(spool.append(std::string(40, 'b')).ok());  // exactly the bound
    EXPECT_FALSE(spool.in_file());
    EXPECT_EQ(spool.fd(), -1);
    EXPECT_EQ(spool.size(), 100u);
    EXPECT_EQ(spool.memory(), std::string(60, 'a') + std::string(40, 'b'));
    EXPECT_EQ(read_all(spool, 7), spool.memory());
    EXPECT_TRUE(dir.empty());
}

TEST(BodySpool, MovesToAnUnnamedFilePastTheBound) {
    TempDir dir;
    BodySpool spool(1000, dir.path());
    std::string expected;
    for (size_t i = 0; i < 50; ++i) {
        const std::string piece = pattern(97 + i, i);
        ASSERT_TRUE(spool.append(piece).ok());
        expected += piece;
    }
    ASSERT_TRUE(spool.in_file());
    EXPECT_EQ(spool.size(), expected.size());
    EXPECT_TRUE(spool.memory().empty());

    // The file holds exactly the appended bytes, from its start.
    struct stat st {};
    ASSERT_EQ(::fstat(spool.fd(), &st), 0);
    EXPECT_EQ(static_cast<uint64_t>(st.st_size), expected.size());
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    std::string file(expected.size(), '\0');
    ASSERT_EQ(::pread(spool.fd(), file.data(), file.size(), 0), static_cast<ssize_t>(file.size()));
    EXPECT_EQ(file, expected);
    EXPECT_EQ(read_all(spool, 333), expected);

    // read_at from the middle, and past the end.
    char buf[10];
    Result<size_t> n = spool.read_at(expected.size() - 4, buf, sizeof buf);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(std::string(buf, *n), expected.substr(expected.size() - 4));
    n = spool.read_at(expected.size() + 5, buf, sizeof buf);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 0u);

    // Nothing in the directory has a name, and the fd says the file is deleted.
    EXPECT_TRUE(dir.empty());
    const std::string link = fd_link(spool.fd());
    EXPECT_EQ(link.rfind(dir.path() + "/", 0), 0u) << link;
    EXPECT_TRUE(ends_with(link, " (deleted)")) << link;
}

TEST(BodySpool, OneLargeAppendGoesStraightToTheFile) {
    TempDir dir;
    BodySpool spool(16, dir.path());
    ASSERT_TRUE(spool.append("small").ok());
    const std::string big = pattern(1 << 20, 3);
    ASSERT_TRUE(spool.append(big).ok());
    EXPECT_TRUE(spool.in_file());
    EXPECT_EQ(read_all(spool, 65536), "small" + big);
}

TEST(BodySpool, ClearGoesBackToEmptyMemoryAndClosesTheFile) {
    TempDir dir;
    BodySpool spool(4, dir.path());
    ASSERT_TRUE(spool.append("0123456789").ok());
    ASSERT_TRUE(spool.in_file());
    const int fd = spool.fd();
    spool.clear();
    EXPECT_FALSE(spool.in_file());
    EXPECT_EQ(spool.size(), 0u);
    EXPECT_EQ(fd_link(fd).find(dir.path()), std::string::npos);  // closed (or reused elsewhere)
    ASSERT_TRUE(spool.append("abc").ok());
    EXPECT_FALSE(spool.in_file());
    EXPECT_EQ(spool.memory(), "abc");
}

TEST(BodySpool, BothWaysOfMakingAnUnnamedFile) {
    TempDir dir;
    for (bool tmpfile : {true, false}) {
        SCOPED_TRACE(tmpfile);
        Result<UniqueFd> fd = open_unnamed_temp_file(dir.path(), tmpfile);
        ASSERT_TRUE(fd.ok()) << fd.error();
        const std::string link = fd_link(fd->get());
        EXPECT_EQ(link.rfind(dir.path() + "/", 0), 0u) << link;
        EXPECT_TRUE(ends_with(link, " (deleted)")) << link;
        // O_TMPFILE files show as "/#INODE"; mkstemp ones keep their former name.
        EXPECT_EQ(link.find("/#") != std::string::npos, tmpfile) << link;
        EXPECT_TRUE(dir.empty());
        ASSERT_EQ(::write(fd->get(), "x", 1), 1);
        EXPECT_NE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC, 0);
    }
}

TEST(BodySpool, AMissingDirectoryIsNamedInTheError) {
    TempDir dir;
    const std::string missing = dir.path() + "/no/such/dir";
    BodySpool spool(4, missing);
    ASSERT_TRUE(spool.append("abcd").ok());  // memory needs no directory
    const Status s = spool.append("e");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error(), missing + ": No such file or directory");
    // The spool is as it was: the bytes are still in memory.
    EXPECT_FALSE(spool.in_file());
    EXPECT_EQ(spool.memory(), "abcd");
    EXPECT_EQ(spool.size(), 4u);

    for (bool tmpfile : {true, false}) {
        Result<UniqueFd> fd = open_unnamed_temp_file(missing, tmpfile);
        ASSERT_FALSE(fd.ok());
        EXPECT_EQ(fd.error().rfind(missing + ": ", 0), 0u) << fd.error();
    }
}

TEST(BodySpool, ADirectoryThatIsAFileIsNamedInTheError) {
    TempDir dir;
    const std::string file = dir.path() + "/file";
    {
        UniqueFd fd(::open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
        ASSERT_TRUE(fd.valid());
    }
    BodySpool spool(0, file);
    const Status s = spool.append("x");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error(), file + ": Not a directory");
}

// A write that fails part way (the file size limit stands in for a full disk, which a unit
// test cannot make) is an error naming the directory, and the spool keeps its earlier bytes.
TEST(BodySpool, AFailedWriteIsNamedInTheErrorAndLosesNothing) {
    TempDir dir;
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::signal(SIGXFSZ, SIG_IGN);
        const rlimit limit{4096, 4096};
        if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(10);
        BodySpool spool(100, dir.path());
        if (!spool.append(std::string(3000, 'a')).ok()) ::_exit(11);
        const Status s = spool.append(std::string(3000, 'b'));
        if (s.ok()) ::_exit(12);
        if (s.error() != dir.path() + ": File too large") ::_exit(13);
        if (spool.size() != 3000 || read_all(spool, 4096) != std::string(3000, 'a')) ::_exit(14);
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace minid::proxy
