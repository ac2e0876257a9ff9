// Tests for the extension -> Content-Type table.
#include "worker/http/mime_types.hpp"

#include <gtest/gtest.h>

namespace minid::http {
namespace {

TEST(MimeTypes, CommonTypes) {
    EXPECT_EQ(mime_type_for("index.html"), "text/html; charset=utf-8");
    EXPECT_EQ(mime_type_for("a/b/style.css"), "text/css; charset=utf-8");
    EXPECT_EQ(mime_type_for("app.js"), "text/javascript; charset=utf-8");
    EXPECT_EQ(mime_type_for("mod.mjs"), "text/javascript; charset=utf-8");
    EXPECT_EQ(mime_type_for("data.json"), "application/json");
    EXPECT_EQ(mime_type_for("readme.txt"), "text/plain; charset=utf-8");
    EXPECT_EQ(mime_type_for("logo.svg"), "image/svg+xml");
    EXPECT_EQ(mime_type_for("p.png"), "image/png");
    EXPECT_EQ(mime_type_for("p.jpg"), "image/jpeg");
    EXPECT_EQ(mime_type_for("p.jpeg"), "image/jpeg");
    EXPECT_EQ(mime_type_for("f.woff2"), "font/woff2");
    EXPECT_EQ(mime_type_for("m.wasm"), "application/wasm");
    EXPECT_EQ(mime_type_for("v.mp4"), "video/mp4");
    EXPECT_EQ(mime_type_for("a.tar"), "application/x-tar");
    EXPECT_EQ(mime_type_for("a.tar.gz"), "application/gzip");
    EXPECT_EQ(mime_type_for("notes.md"), "text/markdown; charset=utf-8");
    EXPECT_EQ(mime_type_for("x.7z"), "application/x-7z-compressed");
    EXPECT_EQ(mime_type_for("z.zst"), "application/zstd");
}

TEST(MimeTypes, ExtensionIsCaseInsensitive) {
    EXPECT_EQ(mime_type_for("INDEX.HTML"), "text/html; charset=utf-8");
    EXPECT_EQ(mime_type_for("Photo.JpG"), "image/jpeg");
}

TEST(MimeTypes, UnknownOrMissingExtension) {
    EXPECT_EQ(mime_type_for("file.unknownext"), kDefaultMimeType);
    EXPECT_EQ(mime_type_for("Makefile"), kDefaultMimeType);
    EXPECT_EQ(mime_type_for(".bashrc"), kDefaultMimeType);
    EXPECT_EQ(mime_type_for("trailing."), kDefaultMimeType);
    EXPECT_EQ(mime_type_for("dir.html/file"), kDefaultMimeType);
    EXPECT_EQ(mime_type_for(""), kDefaultMimeType);
    EXPECT_EQ(mime_type_for("x.averyveryverylongextension"), kDefaultMimeType);
}

}  // namespace
}  // namespace minid::http
