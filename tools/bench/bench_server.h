// The real server process for benchmarks: started on a simulator with fresh
// service files (one API key, "bench") and the simulator's demo principal
// linked, so that a benchmark measures the process apart from itself.
#ifndef TOOLS_BENCH_BENCH_SERVER_H_
#define TOOLS_BENCH_BENCH_SERVER_H_

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "tools/testing/api_key_channel.h"
#include "tools/testing/service_files.h"
#include "tools/testing/subprocess.h"

namespace unified::bench {

struct BenchServer {
  std::unique_ptr<testing::Subprocess> process;
  std::string address;  // host:port of the gRPC listener.
  std::string api_key;
  std::string account;  // The linked demo account's id.
  // Every tenant's API key and its own link of the demo account (the first
  // tenant's are api_key and account).
  std::map<std::string, std::string> api_keys;
  std::map<std::string, std::string> accounts;
  // The server's data directory (its SQLite store is accounts.db there).
  std::string dir;

  // SIGTERM, then waits for the process.
  void Stop() {
    if (process == nullptr) return;
    process->Signal(SIGTERM);
    (void)process->Wait(absl::Seconds(30));
    process.reset();
  }
};

// A number from /proc/PID/status ("VmRSS", "VmHWM" in KiB, "Threads");
// -1 when it cannot be read.
inline int64_t ProcStatusField(pid_t pid, const std::string& field) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    std::string digits;
    for (char c : line.substr(field.size() + 1)) {
      if (c >= '0' && c <= '9') digits += c;
    }
    int64_t n = 0;
    return absl::SimpleAtoi(digits, &n) ? n : -1;
  }
  return -1;
}

// CPU seconds (user + system) process `pid` has used; -1 when unreadable.
inline double ProcCpuSeconds(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)),
                   std::istreambuf_iterator<char>());
  // Fields after the command name (in parentheses, which may hold spaces):
  // utime and stime are the 12th and 13th of them.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 1; i <= 13 && rest >> field; ++i) {
    if (i >= 12) ticks += std::atof(field.c_str());
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// //service:server in the runfiles of the benchmark binary `argv0`.
inline std::string ServerPath(const char* argv0) {
  return absl::StrCat(argv0, ".runfiles/podio_directory/service/server");
}

// Starts the server against `sim_url` (no HTTP side listener) with
// `extra_flags`, and links demo@example.com for each of `tenants` (an API
// key each). `stderr_file` takes the server's logs ("": the benchmark's
// stderr).
inline absl::StatusOr<BenchServer> StartBenchServer(
    const std::string& server_path, const std::string& sim_url,
    const std::vector<std::string>& extra_flags = {},
    const std::string& stderr_file = "",
    const std::vector<std::string>& tenants = {"bench"}) {
  BenchServer server;
  server.dir = testing::MakeTempDir("bench");
  auto files = testing::WriteServiceFiles(server.dir, tenants);
  if (!files.ok()) return files.status();
  std::vector<std::string> args = files->ServerFlags(sim_url);
  args.insert(args.end(), {"--listen=127.0.0.1:0", "--http_listen="});
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  auto process = testing::Subprocess::Start(server_path, args, stderr_file);
  if (!process.ok()) return process.status();
  server.process = std::move(*process);
  auto address =
      server.process->WaitForLine("listening on ", absl::Seconds(30));
  if (!address.ok()) return address.status();
  server.address = *address;
  for (const std::string& tenant : tenants) {
    const std::string key = files->api_keys[tenant];
    grpc::ClientContext context;
    v1::LinkWithPasswordRequest link;
    link.set_username("demo@example.com");
    link.set_password("demo-password");
    v1::IntegratedAccount linked;
    grpc::Status s = v1::IntegratedAccounts::NewStub(
                         testing::ApiKeyChannel(server.address, key))
                         ->LinkWithPassword(&context, link, &linked);
    if (!s.ok()) return absl::UnavailableError(s.error_message());
    server.api_keys[tenant] = key;
    server.accounts[tenant] = linked.id();
  }
  server.api_key = server.api_keys[tenants.front()];
  server.account = server.accounts[tenants.front()];
  return server;
}

}  // namespace unified::bench

#endif  // TOOLS_BENCH_BENCH_SERVER_H_
