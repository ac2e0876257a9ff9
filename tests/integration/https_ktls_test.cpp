// tls_ktls = on: where the kernel offers kTLS, a file leaves through the kernel's TLS (counted
// in /proc/net/tls_stat) byte-exact; where it does not (this VM: no CONFIG_TLS), the master
// says so in one log line and files are still served byte-exact over user-space TLS, and the
// kTLS part is skipped with the reason printed.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>
#include <string>

#include "integration/harness.hpp"
#include "integration/tls_clients.hpp"

namespace minid::test {
namespace {

constexpr const char* kUlp = "/proc/sys/net/ipv4/tcp_available_ulp";

bool kernel_offers_ktls() {
    std::ifstream in(kUlp);
    std::string word;
    while (in >> word)
        if (word == "tls") return true;
    return false;
}

// A counter of /proc/net/tls_stat ("TlsTxSw 3"), 0 when the file is absent.
uint64_t tls_stat(const std::string& name) {
    std::ifstream in("/proc/net/tls_stat");
    std::string key;
    uint64_t value = 0;
    while (in >> key >> value)
        if (key == name) return value;
    return 0;
}

TEST(HttpsKtls, FilesGoThroughTheKernelWhereItOffersKtlsAndTheFallbackSaysWhyElsewhere) {
    Site site("", "", 2);
    TestPki pki(site.dir);
    ASSERT_TRUE(pki.ok());
    ASSERT_TRUE(pki.leaf("www", "DNS:www.test", 10));
    std::string big(1 << 20, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
    site.dir.write("www/big.bin", big);
    const uint16_t tls_port = free_port();
    write_tls_config(site, tls_port, "tls_ktls = on\n", "", 2);
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    const bool ktls = kernel_offers_ktls();
    const uint64_t tx_before = tls_stat("TlsTxSw");
    for (int i = 0; i < 3; ++i) {
        const auto r = run_command(
            "curl -s --max-time 20 --cacert " + site.dir.file("ca.pem") +
            " --resolve www.test:" + std::to_string(tls_port) + ":127.0.0.1 -o " +
            site.dir.file("got.bin") + " https://www.test:" + std::to_string(tls_port) +
            "/big.bin && cmp " + site.dir.file("got.bin") + " " + site.dir.file("www/big.bin"));
        EXPECT_EQ(r.exit_code, 0) << r.output << "\n" << m.log();
    }
    const std::string notice = "tls_ktls = on, but this kernel offers no kTLS";
    if (ktls) {
        EXPECT_GE(tls_stat("TlsTxSw"), tx_before + 3) << "the kernel took no connection's keys";
        EXPECT_EQ(count_of(m.log(), notice), 0u) << m.log();
    } else {
        EXPECT_EQ(count_of(m.log(), notice), 1u) << "one line, from the master\n" << m.log();
    }
    m.signal(SIGTERM);
    EXPECT_EQ(m.wait_exit(), 0) << m.log();
    if (!ktls)
        GTEST_SKIP() << "this kernel offers no kTLS ('tls' is not in " << kUlp
                     << "): only the fallback was checked (one notice from the master, 3 x 1 MiB "
                        "byte-exact over user-space TLS), not sending through kTLS";
}

}  // namespace
}  // namespace minid::test
