// The ACME state directory, shared by the master (which reads certificates and the account
// thumbprint), the agent (which writes them) and possibly other minid instances on a shared
// volume:
//   STATE/accounts/CA/key.pem, account.json     the account key and URL, per CA
//   STATE/certificates/NAME/certificate.pem      leaf, chain, then the key (one atomic rename)
//   STATE/certificates/NAME/meta.json            names, dates, renewal schedule, errors
//   STATE/locks/NAME.lock                        who is ordering NAME (certmagic style)
//   STATE/tls-alpn/NAME.pem                      a TLS-ALPN-01 challenge certificate and key
// NAME is the first of a site's hosts. Directories are 0700 and files 0600; every write goes
// through a temporary file and rename(), so a reader sees the old file or the new one.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "acme/renewal_policy.hpp"
#include "common/acme_paths.hpp"
#include "common/result.hpp"

namespace minid::acme {

// Creates `path` and its missing parents (below an existing directory) with mode 0700.
Status make_private_dirs(const std::string& path);
// Writes `content` to `path` via PATH.tmp.PID and rename(); `mode` for the new file.
Status write_file_atomic(const std::string& path, const std::string& content, unsigned mode);
// The file's content, nullopt if it does not exist, an error otherwise.
Result<std::optional<std::string>> read_optional_file(const std::string& path);

using acme_paths::account_dir;
using acme_paths::certificate_dir;
using acme_paths::certificate_file;
using acme_paths::tls_alpn_file;

// The account key of `ca_url`, made (P-256) if there is none. Two instances racing here end
// up with the same key: the file is published with link(), which never replaces.
Result<std::string> load_or_create_account_key(const std::string& state_dir,
                                               const std::string& ca_url);
// The RFC 7638 thumbprint of that key: what the workers append to HTTP-01 tokens.
Result<std::string> account_thumbprint(const std::string& state_dir, const std::string& ca_url);

// What we know about one certificate: read from its PEM, plus the agent's bookkeeping.
struct CertificateMeta {
    std::vector<std::string> names;
    std::string issuer;
    std::string serial;  // hex
    int64_t not_before = 0;
    int64_t not_after = 0;
    int64_t next_renewal = 0;  // when the agent will renew (jitter included)
    // Failures since the last success; when to try next; what went wrong last.
    unsigned attempts = 0;
    int64_t retry_at = 0;
    std::string last_error;
    std::vector<int64_t> failed_validations;  // unix times, the last hour's
    uint64_t renewal_failures = 0;            // total, for metrics
    AriState ari;                             // the CA's renewal information (RFC 9773)

    nlohmann::json to_json() const;
    static CertificateMeta from_json(const nlohmann::json& j);
};

// Names, issuer, serial and dates of the leaf in a PEM chain.
Result<CertificateMeta> inspect_certificate(const std::string& chain_pem);

Result<std::optional<CertificateMeta>> load_meta(const std::string& state_dir,
                                                 const std::string& name);
Status save_meta(const std::string& state_dir, const std::string& name,
                 const CertificateMeta& meta);
// Writes the chain and key (one file, 0600) then the meta.
Status save_certificate(const std::string& state_dir, const std::string& name,
                        const std::string& chain_pem, const std::string& key_pem,
                        const CertificateMeta& meta);

// A lock on ordering one name across processes and hosts sharing the state directory. The
// holder rewrites the file (its timestamp) every few seconds; a lock not refreshed for
// kStaleLockSeconds belongs to a dead holder and is taken over.
inline constexpr int64_t kStaleLockSeconds = 30;

class NameLock {
  public:
    // Tries once; null when a live holder has it. The lock refreshes itself from a thread of its
    // own until it is destroyed (the agent blocks in network calls meanwhile).
    static Result<std::unique_ptr<NameLock>> try_acquire(const std::string& state_dir,
                                                         const std::string& name);
    ~NameLock();
    NameLock(const NameLock&) = delete;
    NameLock& operator=(const NameLock&) = delete;

  private:
    NameLock(std::string path, std::string owner);
    void refresher();

    std::string path_;
    std::string owner_;  // "host:pid:random", so we never delete a lock another took over
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace minid::acme
