// One peer holding thousands of idle sockets against the HTTP side listener
// (the server binary, as it starts): the per-peer cap
// (--http_max_connections_per_peer) keeps it to its share, so /healthz,
// /readyz and a hook-shaped request from another address are answered
// (within their timeouts) while the flood is held.
// Loopback has many addresses: the flood comes from 127.0.0.2, the probes
// from 127.0.0.1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "connectors/common/http_client.h"
#include "gtest/gtest.h"
#include "tests/integration/directory_env.h"

namespace unified {
namespace {

using ::unified::testing::DirectoryEnv;
using ::unified::testing::DirectoryEnvOptions;

// `n` idle sockets connected from `source` to `host_port`; sends nothing.
class IdleSockets {
 public:
  IdleSockets(const std::string& host_port, const char* source, int n) {
    const size_t colon = host_port.rfind(':');
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(std::stoi(host_port.substr(colon + 1)));
    inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &to.sin_addr);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    inet_pton(AF_INET, source, &from.sin_addr);
    for (int i = 0; i < n; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0 ||
          bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0 ||
          connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
        ADD_FAILURE() << "socket " << i << " did not connect";
        if (fd >= 0) close(fd);
        return;
      }
      fds_.push_back(fd);
    }
  }
  ~IdleSockets() {
    for (int fd : fds_) close(fd);
  }
  size_t size() const { return fds_.size(); }

  // How many the server closed (EOF or reset), waiting up to `wait` for at
  // least `want`.
  int ClosedByServer(int want, absl::Duration wait) {
    const absl::Time until = absl::Now() + wait;
    std::vector<bool> closed(fds_.size());
    int count = 0;
    while (count < want && absl::Now() < until) {
      std::vector<pollfd> polls;
      for (int fd : fds_) polls.push_back({fd, POLLIN, 0});
      if (poll(polls.data(), polls.size(), 100) <= 0) continue;
      for (size_t i = 0; i < polls.size(); ++i) {
        if (closed[i] || polls[i].revents == 0) continue;
        char byte;
        if (recv(fds_[i], &byte, 1, MSG_DONTWAIT) <= 0) {
          closed[i] = true;
          ++count;
        }
      }
    }
    return count;
  }

 private:
  std::vector<int> fds_;
};

// Enough descriptors for the flood in this process (and the server it
// starts), whatever the machine's default soft limit.
void RaiseFileLimit(rlim_t want) {
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur >= want) return;
  limit.rlim_cur = std::min(want, limit.rlim_max);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  ASSERT_GE(limit.rlim_cur, want) << "the hard descriptor limit is too low";
}

TEST(SideListenerFloodTest, OnePeerWithTwoThousandSocketsLeavesProbesAlone) {
  RaiseFileLimit(4096);
  DirectoryEnvOptions options;
  options.data.users = 5;
  DirectoryEnv env(options);
  ASSERT_FALSE(env.account("demo").empty());

  IdleSockets flood(env.server().http_address, "127.0.0.2", 2000);
  ASSERT_EQ(flood.size(), 2000u);
  // All but the peer's 64 are closed at accept.
  EXPECT_GE(flood.ClosedByServer(2000 - 64, absl::Seconds(20)), 2000 - 64);

  auto http = NewCurlHttpClient({});
  const std::string base = "http://" + env.server().http_address;
  // The flood is still held (the peer's 64 are open) and every probe is
  // answered, each within its 2 s timeout.
  for (int round = 0; round < 10; ++round) {
    for (const char* path : {"/healthz", "/readyz"}) {
      HttpRequest probe;
      probe.url = base + path;
      probe.timeout = absl::Seconds(2);
      absl::StatusOr<HttpResponse> answer = http->Send(probe);
      ASSERT_TRUE(answer.ok()) << path << ": " << answer.status();
      EXPECT_EQ(answer->status, 200) << path;
    }
  }
  // A new connection from the flooding address is still refused.
  IdleSockets more(env.server().http_address, "127.0.0.2", 1);
  EXPECT_EQ(more.ClosedByServer(1, absl::Seconds(10)), 1);
}

}  // namespace
}  // namespace unified
