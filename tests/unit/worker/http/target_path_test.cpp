// Tests for request-target decoding: normalisation, traversal attempts, dotfiles, forms.
#include "worker/http/target_path.hpp"

#include <gtest/gtest.h>

#include <string>

namespace minid::http {
namespace {

struct Decoded {
    int status;
    std::string path;
    bool directory;
    bool has_query;
    std::string query;
};

Decoded dec(std::string_view target) {
    TargetDecoder d;
    const TargetPath t = d.decode(target);
    return {t.status, std::string(t.path), t.directory, t.has_query, std::string(t.query)};
}

void expect_path(std::string_view target, std::string_view path, bool directory) {
    const Decoded d = dec(target);
    EXPECT_EQ(d.status, 0) << target;
    EXPECT_EQ(d.path, path) << target;
    EXPECT_EQ(d.directory, directory) << target;
}

TEST(TargetPath, OriginForm) {
    expect_path("/", "", true);
    expect_path("/index.html", "index.html", false);
    expect_path("/a/b/c.txt", "a/b/c.txt", false);
    expect_path("/a/b/", "a/b/", true);
    expect_path("/a//b///c", "a/b/c", false);
    expect_path("/a/./b/.", "a/b/", true);
    expect_path("/a/b/../c", "a/c", false);
    expect_path("/a/b/..", "a/", true);
    expect_path("/a/..", "", true);
    expect_path("/a/b/../../", "", true);
}

TEST(TargetPath, QueryAndFragment) {
    Decoded d = dec("/a/b?x=1&y=/../..#frag");
    EXPECT_EQ(d.status, 0);
    EXPECT_EQ(d.path, "a/b");
    EXPECT_TRUE(d.has_query);
    EXPECT_EQ(d.query, "x=1&y=/../..");
    d = dec("/a#frag?notquery");
    EXPECT_EQ(d.path, "a");
    EXPECT_FALSE(d.has_query);
    d = dec("/a?");
    EXPECT_TRUE(d.has_query);
    EXPECT_EQ(d.query, "");
}

TEST(TargetPath, PercentDecoding) {
    expect_path("/a%20b", "a b", false);
    expect_path("/%41%62c", "Abc", false);
    expect_path("/a%2fb", "a/b", false);
    expect_path("/caf%C3%A9", "caf\xC3\xA9", false);
    expect_path("/a+b", "a+b", false);
    for (const char* bad : {"/%", "/%2", "/%zz", "/%2g", "/a%", "/%00", "/a%00.html"}) {
        EXPECT_EQ(dec(bad).status, 400) << bad;
    }
}

TEST(TargetPath, TraversalAttemptsNeverEscape) {
    for (const char* bad :
         {"/..", "/../", "/../etc/passwd", "/a/../../etc/passwd", "/%2e%2e/", "/%2E%2E/etc/passwd",
          "/a/%2e%2e/%2e%2e/", "/a/%2e%2e/%2e%2e/etc/passwd", "/%2f..", "/%2f%2e%2e",
          "/a%2f..%2f..%2fetc", "/./../", "/a/b/../../..", "/.%2e/", "/%2e./x"}) {
        EXPECT_EQ(dec(bad).status, 400) << bad;
    }
}

TEST(TargetPath, BackslashesAreLiteral) {
    expect_path("/a\\b", "a\\b", false);
    expect_path("/a%5c..%5c..%5cetc", "a\\..\\..\\etc", false);
    // A segment that starts with '.' is a dotfile whatever follows.
    EXPECT_EQ(dec("/..\\..\\etc\\passwd").status, 404);
}

TEST(TargetPath, DotfilesAre404ExceptWellKnown) {
    for (const char* hidden : {"/.git/config", "/.env", "/a/.htaccess", "/a/.svn/", "/%2egit/HEAD",
                               "/.well-known/.secret", "/a/.well-known/x", "/...", "/.a"}) {
        EXPECT_EQ(dec(hidden).status, 404) << hidden;
    }
    expect_path("/.well-known/acme-challenge/tok", ".well-known/acme-challenge/tok", false);
    expect_path("/.well-known/", ".well-known/", true);
    expect_path("/%2ewell-known/x", ".well-known/x", false);
    // Normalised away before the check: the path served is "x".
    expect_path("/.git/../x", "x", false);
}

TEST(TargetPath, AbsoluteForm) {
    expect_path("http://example.com/a/b", "a/b", false);
    expect_path("HTTPS://example.com:8443/a/", "a/", true);
    expect_path("http://example.com", "", true);
    Decoded d = dec("http://example.com?q=1");
    EXPECT_EQ(d.status, 0);
    EXPECT_EQ(d.path, "");
    EXPECT_EQ(d.query, "q=1");
    EXPECT_EQ(dec("http://example.com/../x").status, 400);
    EXPECT_EQ(dec("http:///a").status, 400);
    EXPECT_EQ(dec("ftp://example.com/a").status, 400);
}

TEST(TargetPath, OtherFormsAre400) {
    for (const char* bad : {"", "*", "a/b", "example.com:443", "?q", "http:/x"}) {
        EXPECT_EQ(dec(bad).status, 400) << bad;
    }
}

TEST(TargetPath, DecoderReusesItsBuffer) {
    TargetDecoder d;
    const TargetPath a = d.decode("/first/path.txt");
    const char* where = a.path.data();
    const TargetPath b = d.decode("/second");
    EXPECT_EQ(b.path.data(), where);
    EXPECT_EQ(b.path, "second");
}

TEST(TargetPath, EncodedPathForLocation) {
    std::string out;
    append_encoded_path(out, "a b/caf\xC3\xA9/x?y#z%");
    EXPECT_EQ(out, "/a%20b/caf%C3%A9/x%3Fy%23z%25");
    out.clear();
    append_encoded_path(out, "");
    EXPECT_EQ(out, "/");
    out.clear();
    append_encoded_path(out, "a-._~!$&'()*+,;=:@/b");
    EXPECT_EQ(out, "/a-._~!$&'()*+,;=:@/b");
    out.clear();
    append_encoded_path(out, "a\r\nb\\c");
    EXPECT_EQ(out, "/a%0D%0Ab%5Cc");
}

}  // namespace
}  // namespace minid::http
