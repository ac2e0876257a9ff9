// FuzzSite: a small document root for the fuzz targets, made once per process, with a canary
// file *outside* it (and symlinks that point at the canary) so a target can assert that nothing
// outside the root is ever opened or served.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

namespace minid::fuzz {

// Unique enough that no file under the root, and no generated page, can contain it by chance.
inline constexpr std::string_view kCanary = "MINID-FUZZ-CANARY-7f3a9c1e-outside-the-root";

[[noreturn]] inline void fail(const char* what) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
}

#define MINID_FUZZ_CHECK(cond)                   \
    do {                                         \
        if (!(cond)) ::minid::fuzz::fail(#cond); \
    } while (0)

class FuzzSite {
  public:
    // Removed at a normal exit; a crashed run leaves its few hundred bytes under /tmp.
    static const FuzzSite& get() {
        static const FuzzSite site;
        return site;
    }
    ~FuzzSite() {
        std::error_code ec;
        std::filesystem::remove_all(base_, ec);
    }
    const std::string& base() const { return base_; }
    const std::string& root() const { return root_; }
    const std::string& canary_path() const { return canary_; }

    // True when the process holds an fd for the canary (it was opened and is still open).
    bool canary_is_open() const {
        DIR* d = ::opendir("/proc/self/fd");
        if (d == nullptr) return false;
        bool found = false;
        char link[4096];
        while (dirent* e = ::readdir(d)) {
            const std::string p = std::string("/proc/self/fd/") + e->d_name;
            const ssize_t n = ::readlink(p.c_str(), link, sizeof link - 1);
            if (n <= 0) continue;
            link[n] = '\0';
            if (canary_ == link) found = true;
        }
        ::closedir(d);
        return found;
    }

  private:
    FuzzSite() {
        char tmpl[] = "/tmp/minid-fuzz-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) fail("mkdtemp");
        base_ = tmpl;
        root_ = base_ + "/www";
        canary_ = base_ + "/canary.txt";
        write(canary_, std::string(kCanary));
        mkdir(root_);
        mkdir(root_ + "/sub");
        mkdir(root_ + "/sub/deeper");
        mkdir(root_ + "/empty-dir");
        mkdir(root_ + "/.well-known");
        write(root_ + "/index.html", "<h1>index</h1>\n");
        write(root_ + "/a.txt", "alpha\n");
        write(root_ + "/space name.txt", "spaced\n");
        write(root_ + "/empty.txt", "");
        write(root_ + "/sub/index.html", "sub index\n");
        write(root_ + "/sub/b.css", "body{}\n");
        write(root_ + "/sub/deeper/c.js", "let c;\n");
        write(root_ + "/.hidden", "dotfile\n");
        write(root_ + "/.well-known/token", "acme\n");
        // Larger than the fuzz cache's in-memory bound, so it is sent from its fd.
        std::string big(300, 'b');
        for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
        write(root_ + "/big.bin", big);
        // Every way a link could lead to the canary: absolute, relative, through a directory.
        symlink(canary_, root_ + "/abs-link");
        symlink("../canary.txt", root_ + "/rel-link");
        symlink("..", root_ + "/up-dir");
        symlink(base_, root_ + "/sub/base-dir");
        symlink("a.txt", root_ + "/inside-link");
        ::mkfifo((root_ + "/fifo").c_str(), 0644);
    }

    static void mkdir(const std::string& p) {
        if (::mkdir(p.c_str(), 0755) != 0) fail("mkdir");
    }
    static void symlink(const std::string& target, const std::string& p) {
        if (::symlink(target.c_str(), p.c_str()) != 0) fail("symlink");
    }
    static void write(const std::string& p, const std::string& content) {
        FILE* f = std::fopen(p.c_str(), "wb");
        if (f == nullptr) fail("fopen");
        if (!content.empty() && std::fwrite(content.data(), 1, content.size(), f) != content.size())
            fail("fwrite");
        std::fclose(f);
    }

    std::string base_;
    std::string root_;
    std::string canary_;
};

// True when `hay` contains the canary text.
inline bool has_canary(std::string_view hay) {
    return hay.find(kCanary) != std::string_view::npos;
}

}  // namespace minid::fuzz
