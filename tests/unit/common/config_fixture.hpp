// Shared by the config tests: a throw-away directory for files and roots, and the serialize()
// round-trip check.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/config.hpp"

namespace minid::testing {

// A fresh directory under /tmp, removed with everything in it at the end of the test.
class TempDir {
  public:
    TempDir() {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "minid-config-test-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string write(const std::string& name, const std::string& text) const {
        const std::string p = path_ + "/" + name;
        std::ofstream(p, std::ios::binary) << text;
        return p;
    }
    std::string mkdir(const std::string& name) const {
        std::filesystem::create_directories(path_ + "/" + name);
        return path_ + "/" + name;
    }

  private:
    std::string path_;
};

// serialize() gives text that parses back to an equal Config and serializes the same again.
inline void expect_round_trip(const Config& c) {
    const std::string text = c.serialize();
    auto back = parse_config_text(text, "<serialized>");
    ASSERT_TRUE(back.ok()) << back.error() << "\n--- text ---\n" << text;
    EXPECT_EQ(*back, c) << text;
    EXPECT_EQ(back->serialize(), text);
}

}  // namespace minid::testing
