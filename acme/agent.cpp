// The ACME agent's loop: for each certificate, order when missing or due, back off on failure,
// publish results to the master, and sleep until the next due time or until the master goes.
#include "acme/agent.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "acme/acme_client.hpp"
#include "acme/acme_storage.hpp"
#include "acme/ari_poll.hpp"
#include "acme/renewal_policy.hpp"
#include "common/build_info.hpp"
#include "common/config.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "common/worker_message.hpp"
#include "common/worker_protocol.hpp"

namespace minid::acme {
namespace {

using json = nlohmann::json;
namespace wp = worker_protocol;
namespace msg = worker_message;

constexpr int64_t kLockedRetrySeconds = 5;  // another instance orders: look again soon
constexpr int64_t kMaxSleepSeconds = 3600;

int64_t now_s() {
    return static_cast<int64_t>(::time(nullptr));
}

// One site with tls = auto.
struct Managed {
    std::string site;
    std::vector<std::string> names;  // the site's hosts, in order; names[0] names the files
    CertificateMeta meta;            // as on disk (certificate facts + bookkeeping)
    bool have_certificate = false;   // a certificate for exactly these names is on disk
    std::string announced_serial;    // what the master was last told about
};

class Agent {
  public:
    Agent(Config config, int ipc_fd, int signal_fd)
        : config_(std::move(config)),
          ipc_(ipc_fd),
          signals_(signal_fd),
          rng_(std::random_device{}()) {}

    int run() {
        for (const SiteSettings& s : config_.sites) {
            if (!s.tls_auto || s.hosts.empty()) continue;
            Managed m;
            m.site = s.name;
            m.names = s.hosts;
            load(m);
            m.announced_serial = m.have_certificate ? m.meta.serial : "";
            managed_.push_back(std::move(m));
        }
        log::info("ACME agent for ", managed_.size(), " certificate(s) from ", config_.acme_ca,
                  " (state in ", config_.acme_state_dir, ")");
        for (;;) {
            int64_t wake = now_s() + kMaxSleepSeconds;
            for (Managed& m : managed_) wake = std::min(wake, maintain(m));
            send_status();
            if (!wait_until(wake)) return wp::kExitOk;
        }
    }

  private:
    // Reads the certificate and meta of `m` from disk.
    void load(Managed& m) {
        const std::string& dir = config_.acme_state_dir;
        auto meta = load_meta(dir, m.names[0]);
        if (!meta) log::warn(meta.error());
        CertificateMeta bookkeeping = meta && *meta ? **meta : CertificateMeta{};
        auto pem = read_optional_file(certificate_file(dir, m.names[0]));
        m.have_certificate = false;
        if (pem && *pem) {
            if (auto facts = inspect_certificate(**pem)) {
                std::vector<std::string> want = m.names, got = facts->names;
                std::sort(want.begin(), want.end());
                std::sort(got.begin(), got.end());
                m.have_certificate = want == got;
                bookkeeping.issuer = facts->issuer;
                bookkeeping.serial = facts->serial;
                bookkeeping.not_before = facts->not_before;
                bookkeeping.not_after = facts->not_after;
                if (bookkeeping.next_renewal == 0 || bookkeeping.next_renewal > facts->not_after)
                    bookkeeping.next_renewal =
                        renewal_time(facts->not_before, facts->not_after, random01());
                if (!m.have_certificate)
                    log::notice("[site ", m.site,
                                "]: the certificate on disk is for other names; "
                                "ordering one for the site's hosts");
            }
        }
        bookkeeping.names = m.names;
        m.meta = std::move(bookkeeping);
    }

    double random01() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

    // Does what is due for `m`; returns when to look at it again.
    int64_t maintain(Managed& m) {
        const int64_t now = now_s();
        if (m.have_certificate && now < m.meta.next_renewal) {
            // RFC 9773: never ask about an expired certificate (it is due anyway by then).
            if (now >= m.meta.ari.next_check && now < m.meta.not_after) poll_renewal_info(m);
            if (now_s() < m.meta.next_renewal)
                return std::min(m.meta.next_renewal, m.meta.ari.next_check);
        }
        if (now < m.meta.retry_at) return m.meta.retry_at;
        if (const int64_t wait = validation_wait_seconds(m.meta.failed_validations, now);
            wait > 0) {
            log::warn("[site ", m.site, "]: ", kMaxFailedValidationsPerHour,
                      " failed validations in the last hour: next attempt in ", wait, " s");
            return now + wait;
        }
        auto lock = NameLock::try_acquire(config_.acme_state_dir, m.names[0]);
        if (!lock) {
            log::error("[site ", m.site, "]: ", lock.error());
            return now + kLockedRetrySeconds * 12;
        }
        if (!*lock) {
            log::info("[site ", m.site, "]: another minid is ordering ", m.names[0], " (lock in ",
                      config_.acme_state_dir, "/locks); waiting for its result");
            return now + kLockedRetrySeconds;
        }
        // Another instance may have finished while we waited for the lock.
        load(m);
        if (m.have_certificate && now < m.meta.next_renewal) {
            announce(m);
            return m.meta.next_renewal;
        }
        if (now < m.meta.retry_at) return m.meta.retry_at;
        if (auto st = obtain(m); !st) {
            ++m.meta.attempts;
            ++m.meta.renewal_failures;
            m.meta.last_error = st.error();
            const int64_t delay = backoff_seconds(
                m.meta.attempts, client_ ? client_->retry_after_s() : 0, random01());
            m.meta.retry_at = now_s() + delay;
            log::error("[site ", m.site, "]: ", m.have_certificate ? "renewal" : "certificate",
                       " for ", join(m.names), " failed (attempt ", m.meta.attempts,
                       "): ", st.error(), "; next attempt in ", delay, " s",
                       m.have_certificate ? " (the current certificate keeps serving)" : "");
            if (auto saved = save_meta(config_.acme_state_dir, m.names[0], m.meta); !saved)
                log::error(saved.error());
            return m.meta.retry_at;
        }
        announce(m);
        return m.meta.next_renewal;
    }

    // Asks the CA for the current certificate's renewal information (ARI) and saves what moved.
    void poll_renewal_info(Managed& m) {
        const std::string& dir = config_.acme_state_dir;
        const int64_t was = m.meta.next_renewal;
        std::string error;
        auto pem = read_optional_file(certificate_file(dir, m.names[0]));
        if (!pem || !*pem) {
            error = pem ? certificate_file(dir, m.names[0]) + ": missing" : pem.error();
            m.meta.ari.next_check = now_s() + ari_poll_seconds(false, 0);
        } else if (auto st = open_client(); !st) {
            client_.reset();  // open again next time: the CA may be back
            error = st.error();
            m.meta.ari.next_check = now_s() + ari_poll_seconds(false, 0);
        } else {
            const AriCheck ari =
                check_renewal_info(*client_, **pem, was, m.meta.ari, now_s(), random01());
            m.meta.next_renewal = ari.next_renewal;
            error = ari.error;
        }
        if (!error.empty())
            log::warn("[site ", m.site, "]: renewal information: ", error,
                      " (the renewal stays at ", format_time(m.meta.next_renewal), "; next try at ",
                      format_time(m.meta.ari.next_check), ")");
        if (m.meta.next_renewal < was)
            log::notice("[site ", m.site, "]: the CA's renewal information (window ",
                        format_time(m.meta.ari.window_start), " to ",
                        format_time(m.meta.ari.window_end), ") moves the renewal of ",
                        join(m.names), " to ", format_time(m.meta.next_renewal), " (was ",
                        format_time(was), ")");
        if (auto saved = save_meta(dir, m.names[0], m.meta); !saved) log::error(saved.error());
    }

    Status open_client() {
        if (client_) return {};
        const std::string& dir = config_.acme_state_dir;
        auto pem = load_or_create_account_key(dir, config_.acme_ca);
        if (!pem) return make_error(pem.error());
        auto key = parse_private_key_pem(*pem);
        if (!key) return make_error(key.error());
        account_key_ = std::move(key).value();
        if (!http_) http_ = make_curl_client(config_.acme_ca_root);
        ClientOptions options;
        options.directory_url = config_.acme_ca;
        options.email = config_.acme_email;
        for (std::string_view w : split_challenges(config_.acme_challenges))
            options.challenges.emplace_back(w);
        ClientClock clock{now_s, [](std::chrono::milliseconds d) {
                              ::usleep(static_cast<useconds_t>(d.count()) * 1000);
                          }};
        auto client = std::make_unique<Client>(*http_, account_key_.get(), options, clock);
        const std::string account_file = account_dir(dir, config_.acme_ca) + "/account.json";
        std::string known;
        if (auto text = read_optional_file(account_file); text && *text) {
            auto j = json::parse(**text, nullptr, false);
            if (j.is_object()) known = j.value("url", "");
        }
        if (auto st = client->open(known); !st) return st;
        if (client->account_url() != known) {
            log::notice("ACME account ", client->account_url(), " at ", config_.acme_ca);
            if (auto st = write_file_atomic(
                    account_file, json{{"url", client->account_url()}}.dump() + "\n", 0600);
                !st)
                log::warn(st.error());
        }
        client_ = std::move(client);
        return {};
    }

    static std::vector<std::string_view> split_challenges(std::string_view text) {
        std::vector<std::string_view> out;
        size_t pos = 0;
        while (pos < text.size()) {
            const size_t end = std::min(text.find(' ', pos), text.size());
            if (end > pos) out.push_back(text.substr(pos, end - pos));
            pos = end + 1;
        }
        return out;
    }

    static std::string join(const std::vector<std::string>& names) {
        std::string out;
        for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
        return out;
    }

    Status obtain(Managed& m) {
        if (auto st = open_client(); !st) {
            client_.reset();  // open again next time: the CA may be back
            return st;
        }
        auto type = parse_key_type(config_.acme_key_type);
        if (!type) return make_error(type.error());
        auto key = generate_key(*type);  // a new key for every certificate
        if (!key) return make_error(key.error());
        const std::string dir = config_.acme_state_dir;
        ChallengeHooks hooks;
        hooks.present = [&dir](const std::string& ch, const std::string& name,
                               const std::string& key_authorization) -> Status {
            if (ch != "tls-alpn-01") return {};  // workers answer HTTP-01 from the thumbprint
            auto pem = tls_alpn_challenge_pem(name, key_authorization);
            if (!pem) return make_error(pem.error());
            if (auto st = make_private_dirs(dir + "/tls-alpn"); !st) return st;
            return write_file_atomic(tls_alpn_file(dir, name), *pem, 0600);
        };
        hooks.cleanup = [&dir](const std::string& ch, const std::string& name) {
            if (ch == "tls-alpn-01") ::unlink(tls_alpn_file(dir, name).c_str());
        };
        log::info("[site ", m.site, "]: ordering a certificate for ", join(m.names));
        const int64_t started = now_s();
        auto issued = client_->obtain(m.names, key->get(), hooks);
        for (unsigned i = 0; i < client_->failed_validations(); ++i)
            m.meta.failed_validations.push_back(now_s());
        if (!issued) {
            // A stale account or nonce state is cheap to rebuild: start over next time.
            client_.reset();
            return make_error(issued.error());
        }
        auto facts = inspect_certificate(issued->chain_pem);
        if (!facts) return make_error("the CA's certificate: " + facts.error());
        auto key_pem = private_key_pem(key->get());
        if (!key_pem) return make_error(key_pem.error());
        CertificateMeta meta = *facts;
        meta.names = m.names;
        meta.next_renewal = renewal_time(facts->not_before, facts->not_after, random01());
        // Renewal information right after issuance, then whenever meta.ari.next_check is due.
        const AriCheck ari = check_renewal_info(*client_, issued->chain_pem, meta.next_renewal,
                                                meta.ari, now_s(), random01());
        meta.next_renewal = ari.next_renewal;
        if (!ari.error.empty())
            log::warn("[site ", m.site, "]: renewal information: ", ari.error, " (next try at ",
                      format_time(meta.ari.next_check), ")");
        meta.failed_validations = m.meta.failed_validations;
        meta.renewal_failures = m.meta.renewal_failures;
        if (auto st = save_certificate(dir, m.names[0], issued->chain_pem, *key_pem, meta); !st)
            return st;
        m.meta = std::move(meta);
        m.have_certificate = true;
        log::notice("[site ", m.site, "]: certificate for ", join(m.names), " obtained in ",
                    now_s() - started, " s (serial ", m.meta.serial, ", expires ",
                    format_time(m.meta.not_after), ", renewal at ",
                    format_time(m.meta.next_renewal), ")");
        return {};
    }

    static std::string format_time(int64_t t) {
        char buf[32];
        std::tm tm{};
        const auto tt = static_cast<std::time_t>(t);
        ::gmtime_r(&tt, &tm);
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return buf;
    }

    // Tells the master to reload when the certificate on disk is not the one it serves.
    void announce(Managed& m) {
        if (!m.have_certificate || m.meta.serial == m.announced_serial) return;
        if (auto st = msg::send(ipc_, msg::Type::acme_certificates); !st) {
            log::error("telling the master about the new certificate: ", st.error());
            return;
        }
        m.announced_serial = m.meta.serial;
    }

    void send_status() {
        json list = json::array();
        for (const Managed& m : managed_) {
            json j = m.meta.to_json();
            j.erase("failed_validations");
            j["site"] = m.site;
            j["have_certificate"] = m.have_certificate;
            list.push_back(std::move(j));
        }
        const std::string payload = json{{"certificates", list}, {"ca", config_.acme_ca}}.dump();
        if (auto st = msg::send(ipc_, msg::Type::acme_status, payload); !st)
            log::debug("status to the master: ", st.error());
    }

    // Sleeps until `when`; false when the master is gone or asked us to stop.
    bool wait_until(int64_t when) {
        for (;;) {
            const int64_t left = when - now_s();
            if (left <= 0) return true;
            pollfd fds[2] = {{ipc_, POLLIN, 0}, {signals_, POLLIN, 0}};
            const int rc = ::poll(fds, 2, static_cast<int>(std::min<int64_t>(left, 60) * 1000));
            if (rc < 0 && errno != EINTR) {
                log::error(sys_error("poll", "ACME agent", errno));
                return false;
            }
            if (fds[1].revents & POLLIN) {
                signalfd_siginfo si{};
                if (::read(signals_, &si, sizeof si) == sizeof si && si.ssi_signo != SIGHUP &&
                    si.ssi_signo != SIGUSR1)
                    return false;
            }
            if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                auto got = msg::receive(ipc_);
                if (!got || got->closed) return false;  // the master is gone: so are we
            }
        }
    }

    Config config_;
    int ipc_;
    int signals_;
    std::mt19937_64 rng_;
    std::vector<Managed> managed_;
    std::unique_ptr<HttpClient> http_;
    Pkey account_key_;
    std::unique_ptr<Client> client_;
};

bool take_int(std::string_view arg, std::string_view prefix, int* out) {
    if (!arg.starts_with(prefix)) return false;
    arg.remove_prefix(prefix.size());
    auto [ptr, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), *out);
    return ec == std::errc() && ptr == arg.data() + arg.size();
}

Result<std::string> read_config_fd(int fd) {
    std::string text;
    char buf[16384];
    off_t off = 0;
    for (;;) {
        const ssize_t n = ::pread(fd, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(sys_error("pread", "config from the master", errno));
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
        off += n;
    }
    // "CONFIG\0BUNDLE": the agent needs no certificates from the master.
    const size_t nul = text.find('\0');
    if (nul != std::string::npos) text.resize(nul);
    return text;
}

}  // namespace

int run_agent(int argc, char** argv) {
    log::set_tag("acme");
    int protocol = -1, config_fd = -1, ipc_fd = -1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (take_int(a, wp::kArgProtocol, &protocol) || take_int(a, wp::kArgConfigFd, &config_fd) ||
            take_int(a, wp::kArgIpcFd, &ipc_fd))
            continue;
        log::error("unknown ACME agent argument '", a, "'");
        return wp::kExitFatalConfig;
    }
    if (protocol != build::worker_protocol) {
        log::error("ACME agent speaks protocol ", build::worker_protocol, ", the master ",
                   protocol);
        return wp::kExitProtocolMismatch;
    }
    auto text = read_config_fd(config_fd);
    if (!text) {
        log::error(text.error());
        return wp::kExitFatalConfig;
    }
    auto config = parse_config_text(*text, "the master's configuration");
    if (!config) {
        log::error(config.error());
        return wp::kExitFatalConfig;
    }
    log::set_level(config->log_level);
    ::close(config_fd);
    // The master started us with every signal blocked: take them from a signalfd.
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1}) sigaddset(&set, s);
    UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!sfd) {
        log::error(sys_error("signalfd", "ACME agent", errno));
        return 1;
    }
    ::signal(SIGPIPE, SIG_IGN);
    Agent agent(std::move(config).value(), ipc_fd, sfd.get());
    return agent.run();
}

}  // namespace minid::acme
