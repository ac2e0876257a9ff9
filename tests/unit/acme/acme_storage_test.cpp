// The ACME state directory: private modes, atomic replacement, one account key for racing
// instances, certificate facts read from PEM, meta round trip, and the per-name lock (held,
// released, a stale one taken over).
#include "acme/acme_storage.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "acme/acme_crypto.hpp"
#include "tests/unit/common/config_fixture.hpp"

namespace minid::acme {
namespace {

using minid::testing::TempDir;

unsigned mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

TEST(AcmeStorage, PrivateDirectoriesAndAtomicFiles) {
    TempDir dir;
    const std::string deep = dir.path() + "/state/certificates/a.example";
    ASSERT_TRUE(make_private_dirs(deep).ok());
    EXPECT_EQ(mode_of(dir.path() + "/state"), 0700u);
    EXPECT_EQ(mode_of(deep), 0700u);
    const std::string file = deep + "/x.pem";
    ASSERT_TRUE(write_file_atomic(file, "one", 0600).ok());
    ASSERT_TRUE(write_file_atomic(file, "two", 0600).ok());
    EXPECT_EQ(mode_of(file), 0600u);
    EXPECT_EQ(read_optional_file(file).value().value(), "two");
    EXPECT_FALSE(read_optional_file(deep + "/none").value().has_value());
    // No temporary file is left behind.
    size_t entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(deep)) ++entries;
    EXPECT_EQ(entries, 1u);
}

TEST(AcmeStorage, OneAccountKeyPerCaAndItsThumbprint) {
    TempDir dir;
    const std::string ca = "https://ca.example/dir";
    auto first = load_or_create_account_key(dir.path(), ca);
    ASSERT_TRUE(first.ok()) << first.error();
    EXPECT_EQ(load_or_create_account_key(dir.path(), ca).value(), *first);
    EXPECT_EQ(mode_of(account_dir(dir.path(), ca) + "/key.pem"), 0600u);
    EXPECT_NE(load_or_create_account_key(dir.path(), "https://other.example/dir").value(), *first);
    auto key = parse_private_key_pem(*first);
    EXPECT_EQ(account_thumbprint(dir.path(), ca).value(), jwk_thumbprint(key->get()).value());
}

TEST(AcmeStorage, CertificateFactsAndMetaRoundTrip) {
    TempDir dir;
    auto pem = tls_alpn_challenge_pem("a.example", "x");  // any certificate with a SAN
    ASSERT_TRUE(pem.ok());
    auto facts = inspect_certificate(*pem);
    ASSERT_TRUE(facts.ok()) << facts.error();
    EXPECT_EQ(facts->names, std::vector<std::string>{"a.example"});
    EXPECT_GT(facts->not_after, facts->not_before);
    EXPECT_EQ(facts->serial, "01");
    CertificateMeta m = *facts;
    m.attempts = 2;
    m.last_error = "CA answered HTTP 429";
    m.failed_validations = {5, 6};
    ASSERT_TRUE(save_certificate(dir.path(), "a.example", *pem, "KEY\n", m).ok());
    EXPECT_EQ(mode_of(certificate_file(dir.path(), "a.example")), 0600u);
    auto back = load_meta(dir.path(), "a.example");
    ASSERT_TRUE(back.ok() && back->has_value());
    EXPECT_EQ((*back)->to_json(), m.to_json());
    EXPECT_FALSE(inspect_certificate("nope").ok());
}

TEST(AcmeStorage, LockIsExclusiveAndAStaleOneIsTakenOver) {
    TempDir dir;
    auto held = NameLock::try_acquire(dir.path(), "a.example");
    ASSERT_TRUE(held.ok() && *held);
    auto second = NameLock::try_acquire(dir.path(), "a.example");
    ASSERT_TRUE(second.ok());
    EXPECT_FALSE(*second) << "a live lock must not be taken";
    held->reset();  // released
    auto third = NameLock::try_acquire(dir.path(), "a.example");
    ASSERT_TRUE(third.ok() && *third);
    third->reset();
    // A lock whose holder stopped refreshing it long ago.
    std::ofstream(dir.path() + "/locks/a.example.lock")
        << R"({"owner":"dead-host:1:2","updated":1000})"
        << "\n";
    auto taken = NameLock::try_acquire(dir.path(), "a.example");
    ASSERT_TRUE(taken.ok());
    EXPECT_TRUE(*taken);
}

}  // namespace
}  // namespace minid::acme
