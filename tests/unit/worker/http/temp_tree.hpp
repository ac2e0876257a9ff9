// TempTree: a throw-away directory for tests that need real files; removed with its contents.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace minid::http::testing {

class TempTree {
  public:
    TempTree() {
        char tmpl[] = "/tmp/minid-http-test-XXXXXX";
        const char* dir = mkdtemp(tmpl);
        if (dir == nullptr) throw std::runtime_error("mkdtemp failed");
        root_ = dir;
    }
    ~TempTree() {
        std::error_code ec;
        std::filesystem::remove_all(root_, ec);
    }
    TempTree(const TempTree&) = delete;
    TempTree& operator=(const TempTree&) = delete;

    const std::string& root() const { return root_; }
    std::string path(const std::string& rel) const { return root_ + "/" + rel; }

    void write(const std::string& rel, const std::string& content) const {
        const std::filesystem::path p = path(rel);
        std::filesystem::create_directories(p.parent_path());
        std::ofstream f(p, std::ios::binary | std::ios::trunc);
        f << content;
        if (!f) throw std::runtime_error("cannot write " + p.string());
    }
    void mkdir(const std::string& rel) const { std::filesystem::create_directories(path(rel)); }
    void symlink(const std::string& target, const std::string& rel) const {
        std::filesystem::create_symlink(target, path(rel));
    }
    void fifo(const std::string& rel) const {
        if (::mkfifo(path(rel).c_str(), 0644) != 0) throw std::runtime_error("mkfifo failed");
    }
    // Sets the modification time (seconds) so tests do not depend on the clock.
    void set_mtime(const std::string& rel, time_t sec) const {
        const struct timespec times[2] = {{sec, 0}, {sec, 0}};
        if (::utimensat(AT_FDCWD, path(rel).c_str(), times, 0) != 0) {
            throw std::runtime_error("utimensat failed");
        }
    }

  private:
    std::string root_;
};

}  // namespace minid::http::testing
