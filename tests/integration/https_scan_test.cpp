// testssl (Debian's testssl.sh) against the HTTPS listener, offline on loopback: the protocols
// (no SSLv2/3, TLS 1.0 or 1.1; TLS 1.2 and 1.3), no NULL, anonymous, export, low, 3DES or
// "average" cipher, forward secrecy, and nothing VULNERABLE or rated HIGH/CRITICAL among the
// vulnerability checks. Its output goes to the test log. About a minute on a busy machine.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <map>
#include <string>

#include "integration/harness.hpp"
#include "integration/tls_clients.hpp"

namespace minid::test {
namespace {

using Json = nlohmann::json;

TEST(HttpsScan, TestsslFindsOnlyModernProtocolsAndCiphersAndNoVulnerability) {
    if (run_command("command -v testssl").exit_code != 0)
        GTEST_SKIP() << "testssl is not installed (Debian package testssl.sh); not scanned";
    Site site("", "", 1);
    TestPki pki(site.dir);
    ASSERT_TRUE(pki.ok());
    ASSERT_TRUE(pki.leaf("www", "DNS:www.test", 10));
    const uint16_t tls_port = free_port();
    write_tls_config(site, tls_port, "", "hsts = 8760h\n", 1);
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    const std::string json = site.dir.file("testssl.json");
    // -p protocols, -s cipher categories, -f forward secrecy, -U vulnerabilities, -h headers.
    const auto r = run_command(
        "timeout 300 testssl --quiet --color 0 --warnings off -p -s -f -U -h "
        "--ip=127.0.0.1 --jsonfile " +
        json + " https://www.test:" + std::to_string(tls_port) + "/");
    std::cout << "---- testssl output ----\n" << r.output << "---- end of testssl output ----\n";
    const Json findings = Json::parse(read_file(json), nullptr, false);
    ASSERT_TRUE(findings.is_array()) << read_file(json);
    std::map<std::string, Json> by_id;
    for (const Json& f : findings) by_id[f.value("id", "")] = f;
    auto finding = [&](const std::string& id) {
        auto it = by_id.find(id);
        return it == by_id.end() ? std::string("(missing)") : it->second.value("finding", "");
    };
    for (const char* id : {"SSLv2", "SSLv3", "TLS1", "TLS1_1"})
        EXPECT_EQ(finding(id), "not offered") << id;
    EXPECT_EQ(finding("TLS1_2"), "offered");
    EXPECT_EQ(finding("TLS1_3").rfind("offered", 0), 0u) << finding("TLS1_3");
    for (const char* id : {"cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT",
                           "cipherlist_LOW", "cipherlist_3DES_IDEA", "cipherlist_AVERAGE"})
        EXPECT_EQ(finding(id), "not offered") << id;
    EXPECT_EQ(finding("PFS"), "offered");
    // testssl names it HSTS_time when the header is there ("365 days=31536000 s").
    EXPECT_NE(finding("HSTS_time").find("31536000"), std::string::npos) << finding("HSTS_time");
    for (const char* id : {"heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_client_renego",
                           "CRIME_TLS", "BREACH", "POODLE_SSL", "fallback_SCSV", "SWEET32", "FREAK",
                           "DROWN", "LOGJAM", "BEAST", "LUCKY13", "RC4"}) {
        ASSERT_TRUE(by_id.count(id)) << id << " was not checked";
        EXPECT_EQ(by_id[id].value("severity", ""), "OK") << id << ": " << finding(id);
    }
    for (const Json& f : findings) {
        const std::string sev = f.value("severity", "");
        EXPECT_TRUE(sev != "HIGH" && sev != "CRITICAL") << f.dump();
        EXPECT_EQ(f.value("finding", "").find("VULNERABLE"), std::string::npos) << f.dump();
    }
    m.signal(SIGTERM);
    EXPECT_EQ(m.wait_exit(), 0) << m.log();
}

}  // namespace
}  // namespace minid::test
