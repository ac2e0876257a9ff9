// The ACME state directory; see acme_storage.hpp.
#include "acme/acme_storage.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <random>

#include "acme/acme_crypto.hpp"
#include "common/acme_paths.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"

namespace minid::acme {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxStateFile = 1 << 20;
constexpr int kLockRefreshSeconds = 5;

std::string errno_text(const std::string& path) {
    return path + ": " + std::strerror(errno);
}

using acme_paths::safe_name;

int64_t asn1_time_unix(const ASN1_TIME* t) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    return static_cast<int64_t>(::timegm(&tm));
}

int64_t now_unix() {
    return static_cast<int64_t>(::time(nullptr));
}

}  // namespace

Status make_private_dirs(const std::string& path) {
    if (path.empty() || path[0] != '/') return make_error(path + ": not an absolute path");
    size_t pos = 1;
    for (;;) {
        const size_t slash = path.find('/', pos);
        const std::string part = path.substr(0, slash);
        if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
            return make_error(errno_text(part));
        if (slash == std::string::npos) break;
        pos = slash + 1;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return make_error(errno_text(path));
    if (!S_ISDIR(st.st_mode)) return make_error(path + ": not a directory");
    return {};
}

Status write_file_atomic(const std::string& path, const std::string& content, unsigned mode) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                       static_cast<mode_t>(mode)));
    if (!fd) return make_error(errno_text(tmp));
    size_t done = 0;
    while (done < content.size()) {
        const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const Status st = make_error(errno_text(tmp));
            ::unlink(tmp.c_str());
            return st;
        }
        done += static_cast<size_t>(n);
    }
    if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0 || ::fsync(fd.get()) != 0) {
        const Status st = make_error(errno_text(tmp));
        ::unlink(tmp.c_str());
        return st;
    }
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const Status st = make_error(errno_text(path));
        ::unlink(tmp.c_str());
        return st;
    }
    return {};
}

Result<std::optional<std::string>> read_optional_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) {
        if (errno == ENOENT) return std::optional<std::string>();
        return make_error(errno_text(path));
    }
    std::string text;
    char buf[16384];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(errno_text(path));
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > kMaxStateFile) return make_error(path + ": larger than 1 MiB");
    }
    return std::optional<std::string>(std::move(text));
}

Result<std::string> load_or_create_account_key(const std::string& state_dir,
                                               const std::string& ca_url) {
    const std::string dir = account_dir(state_dir, ca_url);
    const std::string path = dir + "/key.pem";
    auto existing = read_optional_file(path);
    if (!existing) return make_error(existing.error());
    if (*existing) return std::move(**existing);
    if (auto st = make_private_dirs(dir); !st) return make_error(st.error());
    auto key = generate_key(KeyType::p256);
    if (!key) return make_error(key.error());
    auto pem = private_key_pem(key->get());
    if (!pem) return make_error(pem.error());
    const std::string tmp = path + ".new." + std::to_string(::getpid());
    if (auto st = write_file_atomic(tmp, *pem, 0600); !st) return make_error(st.error());
    // link() fails if another instance published its key first: then that one is the key.
    const int rc = ::link(tmp.c_str(), path.c_str());
    const int err = errno;
    ::unlink(tmp.c_str());
    if (rc != 0 && err != EEXIST) return make_error(path + ": " + std::strerror(err));
    auto now = read_optional_file(path);
    if (!now) return make_error(now.error());
    if (!*now) return make_error(path + ": vanished after it was written");
    return std::move(**now);
}

Result<std::string> account_thumbprint(const std::string& state_dir, const std::string& ca_url) {
    auto pem = load_or_create_account_key(state_dir, ca_url);
    if (!pem) return make_error(pem.error());
    auto key = parse_private_key_pem(*pem);
    if (!key) return make_error(account_dir(state_dir, ca_url) + "/key.pem: " + key.error());
    return jwk_thumbprint(key->get());
}

json CertificateMeta::to_json() const {
    return json{{"names", names},
                {"issuer", issuer},
                {"serial", serial},
                {"not_before", not_before},
                {"not_after", not_after},
                {"next_renewal", next_renewal},
                {"attempts", attempts},
                {"retry_at", retry_at},
                {"last_error", last_error},
                {"failed_validations", failed_validations},
                {"renewal_failures", renewal_failures},
                {"ari_window_start", ari.window_start},
                {"ari_window_end", ari.window_end},
                {"ari_next_check", ari.next_check}};
}

CertificateMeta CertificateMeta::from_json(const json& j) {
    CertificateMeta m;
    if (!j.is_object()) return m;
    if (j.contains("names") && j["names"].is_array())
        for (const json& n : j["names"])
            if (n.is_string()) m.names.push_back(n.get<std::string>());
    m.issuer = j.value("issuer", "");
    m.serial = j.value("serial", "");
    m.not_before = j.value("not_before", int64_t{0});
    m.not_after = j.value("not_after", int64_t{0});
    m.next_renewal = j.value("next_renewal", int64_t{0});
    m.attempts = j.value("attempts", 0u);
    m.retry_at = j.value("retry_at", int64_t{0});
    m.last_error = j.value("last_error", "");
    if (j.contains("failed_validations") && j["failed_validations"].is_array())
        for (const json& t : j["failed_validations"])
            if (t.is_number_integer()) m.failed_validations.push_back(t.get<int64_t>());
    m.renewal_failures = j.value("renewal_failures", uint64_t{0});
    m.ari.window_start = j.value("ari_window_start", int64_t{0});
    m.ari.window_end = j.value("ari_window_end", int64_t{0});
    m.ari.next_check = j.value("ari_next_check", int64_t{0});
    return m;
}

Result<CertificateMeta> inspect_certificate(const std::string& chain_pem) {
    BIO* bio = BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size()));
    X509* leaf = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(bio);
    if (!leaf) return make_error("not a PEM certificate");
    CertificateMeta m;
    m.not_before = asn1_time_unix(X509_get0_notBefore(leaf));
    m.not_after = asn1_time_unix(X509_get0_notAfter(leaf));
    char issuer[256] = {0};
    X509_NAME_oneline(X509_get_issuer_name(leaf), issuer, sizeof issuer);
    m.issuer = issuer;
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), nullptr);
    if (char* hex = bn ? BN_bn2hex(bn) : nullptr) {
        m.serial = hex;
        OPENSSL_free(hex);
    }
    BN_free(bn);
    auto* sans =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); ++i) {
        const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
        if (g->type == GEN_DNS)
            m.names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName)),
                                 static_cast<size_t>(ASN1_STRING_length(g->d.dNSName)));
    }
    GENERAL_NAMES_free(sans);
    X509_free(leaf);
    return m;
}

Result<std::optional<CertificateMeta>> load_meta(const std::string& state_dir,
                                                 const std::string& name) {
    const std::string path = certificate_dir(state_dir, name) + "/meta.json";
    auto text = read_optional_file(path);
    if (!text) return make_error(text.error());
    if (!*text) return std::optional<CertificateMeta>();
    auto j = json::parse(**text, nullptr, false);
    if (!j.is_object()) return make_error(path + ": not a JSON object");
    return std::optional<CertificateMeta>(CertificateMeta::from_json(j));
}

Status save_meta(const std::string& state_dir, const std::string& name,
                 const CertificateMeta& meta) {
    const std::string dir = certificate_dir(state_dir, name);
    if (auto st = make_private_dirs(dir); !st) return st;
    return write_file_atomic(dir + "/meta.json", meta.to_json().dump(1) + "\n", 0600);
}

Status save_certificate(const std::string& state_dir, const std::string& name,
                        const std::string& chain_pem, const std::string& key_pem,
                        const CertificateMeta& meta) {
    const std::string dir = certificate_dir(state_dir, name);
    if (auto st = make_private_dirs(dir); !st) return st;
    // One file: a reader never pairs a new chain with an old key.
    std::string both = chain_pem;
    if (!both.empty() && both.back() != '\n') both += '\n';
    both += key_pem;
    if (auto st = write_file_atomic(certificate_file(state_dir, name), both, 0600); !st) return st;
    return save_meta(state_dir, name, meta);
}

// --- locks ---

NameLock::NameLock(std::string path, std::string owner)
    : path_(std::move(path)), owner_(std::move(owner)) {
    thread_ = std::thread([this] { refresher(); });
}

NameLock::~NameLock() {
    {
        std::lock_guard<std::mutex> g(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    // Only our own lock: one taken over after we stalled is someone else's now.
    auto text = read_optional_file(path_);
    if (text && *text) {
        auto j = json::parse(**text, nullptr, false);
        if (j.is_object() && j.value("owner", "") == owner_) ::unlink(path_.c_str());
    }
}

void NameLock::refresher() {
    std::unique_lock<std::mutex> g(mutex_);
    while (
        !wake_.wait_for(g, std::chrono::seconds(kLockRefreshSeconds), [this] { return stop_; })) {
        const json j{{"owner", owner_}, {"updated", now_unix()}};
        if (auto st = write_file_atomic(path_, j.dump() + "\n", 0600); !st)
            log::warn("refreshing the ACME lock: ", st.error());
    }
}

Result<std::unique_ptr<NameLock>> NameLock::try_acquire(const std::string& state_dir,
                                                        const std::string& name) {
    const std::string dir = state_dir + "/locks";
    if (auto st = make_private_dirs(dir); !st) return make_error(st.error());
    const std::string path = dir + "/" + safe_name(name) + ".lock";
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    std::random_device rd;
    const std::string owner =
        std::string(host) + ":" + std::to_string(::getpid()) + ":" + std::to_string(rd());
    for (int attempt = 0; attempt < 2; ++attempt) {
        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (fd) {
            const std::string body = json{{"owner", owner}, {"updated", now_unix()}}.dump() + "\n";
            if (::write(fd.get(), body.data(), body.size()) != static_cast<ssize_t>(body.size())) {
                ::unlink(path.c_str());
                return make_error(errno_text(path));
            }
            return std::unique_ptr<NameLock>(new NameLock(path, owner));
        }
        if (errno != EEXIST) return make_error(errno_text(path));
        auto text = read_optional_file(path);
        if (!text) return make_error(text.error());
        if (!*text) continue;  // released meanwhile
        auto j = json::parse(**text, nullptr, false);
        // A half-written lock (its writer died at once) counts as stale by its mtime.
        int64_t updated = j.is_object() ? j.value("updated", int64_t{0}) : 0;
        if (updated == 0) {
            struct stat st {};
            if (::stat(path.c_str(), &st) == 0) updated = static_cast<int64_t>(st.st_mtime);
        }
        if (now_unix() - updated <= kStaleLockSeconds) return std::unique_ptr<NameLock>();
        log::notice("ACME lock ", path, " of ",
                    j.is_object() ? j.value("owner", "?") : std::string("?"),
                    " was not refreshed for ", now_unix() - updated, " s: taking it over");
        ::unlink(path.c_str());
    }
    return std::unique_ptr<NameLock>();
}

}  // namespace minid::acme
