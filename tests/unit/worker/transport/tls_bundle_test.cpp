// The TLS bundle the master seals with the config: encode/decode round trip (PEM and odd file
// names intact) and the NUL split that keeps the config text parseable.
#include "worker/transport/tls_bundle.hpp"

#include <gtest/gtest.h>

namespace minid {
namespace {

TEST(TlsBundle, RoundTripsEverySiteAndPair) {
    const std::vector<SiteKeyPairs> sites{
        {"", {{"/etc/a b.pem", "/etc/\"k\".key", "-----BEGIN CERTIFICATE-----\nAAA\n", "KEY\n"}}},
        {"blog",
         {{"/c1", "/k1", "cert1", "key1"}, {"/c2", "/k2", std::string("x\0y", 3), "key2"}}}};
    const std::string text = encode_tls_bundle(sites);
    EXPECT_EQ(text.find('\0'), std::string::npos) << "the bundle must not hold a NUL";
    auto back = decode_tls_bundle(text);
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(*back, sites);
}

TEST(TlsBundle, MalformedIsAnError) {
    EXPECT_FALSE(decode_tls_bundle("{").ok());
    EXPECT_FALSE(decode_tls_bundle("{}").ok());
    auto r = decode_tls_bundle(R"([{"site":"a"}])");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("malformed"), std::string::npos) << r.error();
}

TEST(TlsBundle, ConfigAndBundleJoinAndSplit) {
    EXPECT_EQ(join_config_and_bundle("[server]\n", ""), "[server]\n");
    const std::string joined = join_config_and_bundle("[server]\n", "[]");
    EXPECT_EQ(joined, std::string("[server]\n\0[]", 12));
    const auto [config, bundle] = split_config_and_bundle(joined);
    EXPECT_EQ(config, "[server]\n");
    EXPECT_EQ(bundle, "[]");
    const auto [only, none] = split_config_and_bundle("[http]\n");
    EXPECT_EQ(only, "[http]\n");
    EXPECT_TRUE(none.empty());
}

}  // namespace
}  // namespace minid
