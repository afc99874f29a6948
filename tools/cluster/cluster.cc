#include "tools/cluster/cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "connectors/common/status_macros.h"
#include "tools/testing/service_files.h"

namespace unified::cluster {
namespace {

constexpr char kBackend[] = "replicas";

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// A listening socket on a free loopback port for HAProxy, which takes it as
// `bind fd@N`, so that no port is guessed. Close-on-exec until HAProxy
// starts: the replicas started before must not hold it.
absl::StatusOr<int> ListenOnFreePort(int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, SOMAXCONN) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    absl::Status error = Errno("listening for HAProxy");
    close(fd);
    return error;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

std::string PortOf(const std::string& address) {
  return address.substr(address.rfind(':') + 1);
}

// HAProxy's configuration (docs/cluster.md explains each choice).
std::string HaproxyConfig(int grpc_fd, int http_fd,
                          const std::string& stats_socket,
                          const fixture::Fixture& f) {
  std::string config = absl::StrCat(
      "global\n"
      "  maxconn 4096\n"
      "  stats socket ",
      stats_socket,
      " mode 600 level admin\n"
      "defaults\n"
      "  mode http\n"
      "  timeout connect 2s\n"
      "  timeout client 1h\n"
      "  timeout server 1h\n"
      "  timeout client-fin 5s\n"
      "  retries 2\n"
      "  option redispatch 1\n"
      "  retry-on conn-failure empty-response\n"
      "  default-server inter 300ms fall 1 rise 1\n"
      "frontend grpc\n"
      "  bind fd@",
      grpc_fd,
      " proto h2\n"
      // Ready replicas take the calls. When none is (the database is
      // down), the live ones do, and answer UNAVAILABLE with RetryInfo
      // themselves rather than the balancer's bare 503.
      "  use_backend live_",
      kBackend, " if { nbsrv(", kBackend,
      ") eq 0 }\n"
      "  default_backend ",
      kBackend,
      "\n"
      "frontend http\n"
      "  bind fd@",
      http_fd,
      "\n"
      // HAProxy is the replicas' side listeners' only peer, so they run
      // without a per-peer cap; the cap on what one client holds is here.
      "  stick-table type ip size 100k expire 30s store conn_cur\n"
      "  tcp-request connection track-sc0 src\n"
      "  tcp-request connection reject if { sc0_conn_cur gt 64 }\n"
      "  default_backend side_listeners\n");
  for (const char* check : {"readyz", "healthz"}) {
    const bool ready = std::string(check) == "readyz";
    absl::StrAppend(&config, "backend ", ready ? "" : "live_", kBackend,
                    "\n"
                    "  balance roundrobin\n"
                    "  option httpchk GET /",
                    check,
                    "\n"
                    "  http-check expect status 200\n");
    for (int i = 0; i < f.replicas(); ++i) {
      absl::StrAppend(&config, "  server ", ready ? "r" : "live", i, " ",
                      f.replica_address(i),
                      " proto h2 check check-proto h1 port ",
                      PortOf(f.replica_http_address(i)), "\n");
    }
  }
  // The side listeners: Podio's hooks (--hook_base_url names this
  // frontend) reach whichever replica is alive.
  absl::StrAppend(&config,
                  "backend side_listeners\n"
                  "  balance roundrobin\n"
                  "  option httpchk GET /healthz\n");
  for (int i = 0; i < f.replicas(); ++i) {
    absl::StrAppend(&config, "  server h", i, " ", f.replica_http_address(i),
                    " check\n");
  }
  return config;
}

// One command to HAProxy's stats socket, and its whole answer.
absl::StatusOr<std::string> StatsCommand(const std::string& socket_path,
                                         const std::string& command) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof(addr.sun_path) - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    absl::Status error = absl::UnavailableError(
        absl::StrCat("HAProxy's stats socket: ", std::strerror(errno)));
    close(fd);
    return error;
  }
  const std::string line = command + "\n";
  if (write(fd, line.data(), line.size()) !=
      static_cast<ssize_t>(line.size())) {
    close(fd);
    return Errno("writing to HAProxy's stats socket");
  }
  std::string answer;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) answer.append(buffer, n);
  close(fd);
  return answer;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Cluster>> Cluster::Start(
    const ClusterOptions& options) {
  if (options.replicas < 1) {
    return absl::InvalidArgumentError("a cluster needs at least 1 replica");
  }
  std::unique_ptr<Cluster> cluster(new Cluster());
  cluster->dir_ = options.fixture.dir.empty() ? testing::MakeTempDir("cluster")
                                              : options.fixture.dir;
  ASSIGN_OR_RETURN(cluster->postgres_, testing::TestPostgres::Start());
  ASSIGN_OR_RETURN(cluster->store_url_,
                   cluster->postgres_->CreateDatabase("directory"));
  int grpc_port = 0, http_port = 0;
  ASSIGN_OR_RETURN(cluster->grpc_fd_, ListenOnFreePort(&grpc_port));
  ASSIGN_OR_RETURN(cluster->http_fd_, ListenOnFreePort(&http_port));
  cluster->address_ = absl::StrCat("127.0.0.1:", grpc_port);
  cluster->http_url_ = absl::StrCat("http://127.0.0.1:", http_port);
  fixture::FixtureOptions fixture_options = options.fixture;
  fixture_options.dir = cluster->dir_;
  fixture_options.server_flags.push_back("--store=" + cluster->store_url_);
  fixture_options.server_flags.push_back("--http_max_connections_per_peer=0");
  fixture_options.server_flags.push_back("--hook_base_url=" +
                                         cluster->http_url_);
  ASSIGN_OR_RETURN(cluster->fixture_, fixture::Fixture::Start(fixture_options));
  for (int i = 1; i < options.replicas; ++i) {
    RETURN_IF_ERROR(cluster->fixture_->AddReplica().status());
  }
  RETURN_IF_ERROR(cluster->StartHaproxy(options.haproxy));
  RETURN_IF_ERROR(cluster->WaitForUp(options.replicas, absl::Seconds(30)));
  return cluster;
}

absl::Status Cluster::StartHaproxy(const std::string& haproxy) {
  // A Unix socket's path is at most 107 bytes, less than a test's
  // temporary directory may take: the stats socket gets a short one.
  char socket_dir[] = "/tmp/haproxy-XXXXXX";
  if (mkdtemp(socket_dir) == nullptr) return Errno("mkdtemp");
  socket_dir_ = socket_dir;
  stats_socket_ = socket_dir_ + "/stats.sock";
  const std::string config_path = dir_ + "/haproxy.cfg";
  {
    std::ofstream config(config_path);
    config << HaproxyConfig(grpc_fd_, http_fd_, stats_socket_, *fixture_);
    if (!config) return absl::InternalError("cannot write " + config_path);
  }
  // HAProxy inherits the two listening sockets; this process closes its
  // copies once it has started.
  for (int fd : {grpc_fd_, http_fd_}) {
    if (fcntl(fd, F_SETFD, 0) != 0) return Errno("fcntl");
  }
  // -db: stay in the foreground, as a child of this process.
  absl::StatusOr<std::unique_ptr<testing::Subprocess>> started =
      testing::Subprocess::Start(haproxy, {"-db", "-f", config_path},
                                 dir_ + "/haproxy.log");
  CloseListeners();
  if (!started.ok()) return started.status();
  haproxy_ = std::move(*started);
  return absl::OkStatus();
}

void Cluster::CloseListeners() {
  for (int* fd : {&grpc_fd_, &http_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

absl::StatusOr<std::vector<BackendState>> Cluster::Backends() {
  ASSIGN_OR_RETURN(std::string csv, StatsCommand(stats_socket_, "show stat"));
  std::vector<std::string> lines = absl::StrSplit(csv, '\n');
  if (lines.empty() || !absl::StartsWith(lines[0], "# ")) {
    return absl::InternalError("HAProxy's stats: no header in: " + csv);
  }
  std::vector<std::string> header = absl::StrSplit(lines[0].substr(2), ',');
  auto column = [&](const std::string& name) {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return static_cast<int>(i);
    }
    return -1;
  };
  const int px = column("pxname"), sv = column("svname"),
            status = column("status"), stot = column("stot"),
            scur = column("scur");
  if (px < 0 || sv < 0 || status < 0 || stot < 0 || scur < 0) {
    return absl::InternalError("HAProxy's stats: columns missing");
  }
  std::vector<BackendState> out;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields = absl::StrSplit(lines[i], ',');
    if (static_cast<int>(fields.size()) <=
            std::max({px, sv, status, stot, scur}) ||
        fields[px] != kBackend || !absl::StartsWith(fields[sv], "r")) {
      continue;  // Not one of the ready replicas (r0, r1, ...).
    }
    BackendState state;
    state.name = fields[sv];
    state.status = fields[status];
    (void)absl::SimpleAtoi(fields[stot], &state.sessions);
    (void)absl::SimpleAtoi(fields[scur], &state.current);
    out.push_back(state);
  }
  return out;
}

absl::Status Cluster::SetInRotation(int i, bool in_rotation) {
  ASSIGN_OR_RETURN(std::string answer,
                   StatsCommand(stats_socket_,
                                absl::StrCat(in_rotation ? "enable" : "disable",
                                             " server ", kBackend, "/r", i)));
  // HAProxy answers nothing on success, a reason otherwise.
  if (!absl::StripAsciiWhitespace(answer).empty()) {
    return absl::FailedPreconditionError("HAProxy: " + answer);
  }
  return absl::OkStatus();
}

absl::Status Cluster::WaitForUp(int up, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  std::string last;
  while (true) {
    absl::StatusOr<std::vector<BackendState>> backends = Backends();
    if (backends.ok()) {
      int count = 0;
      last.clear();
      for (const BackendState& b : *backends) {
        count += absl::StartsWith(b.status, "UP") ? 1 : 0;
        absl::StrAppend(&last, b.name, "=", b.status, " ");
      }
      if (count == up) return absl::OkStatus();
    } else {
      last = std::string(backends.status().message());
    }
    if (absl::Now() >= give_up) {
      return absl::DeadlineExceededError(
          absl::StrCat("HAProxy did not see ", up, " replicas up: ", last, "\n",
                       testing::ReadFile(dir_ + "/haproxy.log")));
    }
    // HAProxy announces nothing: its health checks run every 300 ms.
    absl::SleepFor(absl::Milliseconds(50));
  }
}

Cluster::~Cluster() {
  CloseListeners();
  if (haproxy_ != nullptr) {
    haproxy_->Signal(SIGTERM);
    (void)haproxy_->Wait(absl::Seconds(10));
  }
  haproxy_.reset();
  if (!socket_dir_.empty()) {
    unlink(stats_socket_.c_str());
    rmdir(socket_dir_.c_str());
  }
  fixture_.reset();
  postgres_.reset();
}

}  // namespace unified::cluster
