// NotifySocket: a stand-in for systemd's notify socket, collecting sd_notify datagrams with the
// sender's pid so tests can assert the exact READY/RELOADING/STOPPING sequence.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace minid::test {

struct NotifyMessage {
    pid_t pid = 0;
    std::string text;
};

class NotifySocket {
  public:
    explicit NotifySocket(std::string path);
    ~NotifySocket();
    const std::string& path() const { return path_; }
    // Receives datagrams for up to `timeout`, stopping early once one contains `until`.
    void collect(std::chrono::milliseconds timeout, const std::string& until = "");
    const std::vector<NotifyMessage>& messages() const { return messages_; }
    // Messages containing `needle`, in order.
    size_t count(const std::string& needle) const;
    // The sequence of first lines of every message ("READY=1", "RELOADING=1", ...).
    std::vector<std::string> kinds() const;

  private:
    std::string path_;
    int fd_ = -1;
    std::vector<NotifyMessage> messages_;
};

}  // namespace minid::test
