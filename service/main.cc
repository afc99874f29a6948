// The unified User Directory server: its flags give a ServerConfig
// (service/server_flags.cc), the builder makes the server from it
// (service/server_builder.h), and this file owns the process: signals,
// memory settings, --check_config and the exit code.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "connectors/common/log_line.h"
#include "connectors/common/status_macros.h"
#include "service/server_builder.h"
#include "service/server_config.h"

namespace unified {
namespace {

// The stop signals, blocked before any thread exists so that only the
// server's waiter receives them.
sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);  // Reload the configuration files.
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

absl::Status Run() {
  // Pages are received on the async client's thread and decoded on the
  // workers; glibc would give each thread an arena of its own, each keeping
  // its freed memory at the peak it reached. One arena keeps the resident
  // set flat (benchmark: tools/bench/stream_rss) at no cost seen in
  // tools/bench/stream_vs_loop or proxy_overhead.
  mallopt(M_ARENA_MAX, 1);
  // Abseil's mutex deadlock detection (on in the system library's build)
  // costs a graph update per lock on the hot path; tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const sigset_t stop_signals = BlockStopSignals();
  // Whatever the service creates (the store's files, its directory) is the
  // owner's alone.
  umask(077);
  ASSIGN_OR_RETURN(ServerConfig config, ServerConfigFromFlags());
  if (config.check_config) {
    RETURN_IF_ERROR(CheckConfig(config));
    std::printf("configuration ok\n");
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::unique_ptr<DirectoryServer> server,
                   DirectoryServer::Build(config));
  server->PrintAddresses();
  server->Serve(stop_signals);
  LogEvent(LogLevel::kInfo, "server stopped");
  return absl::OkStatus();
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Serves the unified User Directory gRPC API (unified.v1).");
  // --help lists the service's own flags (absl would look for files named
  // after the binary, and find none).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::StartsWith(file, "service/") ||
           absl::StartsWith(file, "connectors/");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::ParseCommandLine(argc, argv);
  // gRPC's own log lines (a malformed request's header values among them)
  // are JSON lines like the service's (connectors/common/log_line.h).
  unified::RouteGrpcLogs();
  if (absl::Status s = unified::Run(); !s.ok()) {
    unified::LogEvent(
        unified::LogLevel::kError, "server",
        absl::StrCat("\"error\":", unified::JsonQuote(s.message())));
    return 1;
  }
  return 0;
}
