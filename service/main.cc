// The unified User Directory server. Every flag has a documented default; the
// defaults run the embedded configuration on 127.0.0.1:50051.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "connectors/common/clock.h"
#include "connectors/common/http_client.h"
#include "connectors/podio/podio_client.h"
#include "connectors/podio/podio_connector.h"
#include "connectors/registry.h"
#include "service/account_resolver.h"
#include "service/cursor.h"
#include "service/server.h"
#include "service/user_directory_service.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address host:port; port 0 picks a free port, printed "
          "on stdout as 'listening on HOST:PORT'.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGINT/SIGTERM, how long in-flight calls may run before they "
          "are cancelled.");
ABSL_FLAG(int, max_receive_message_bytes, 4 * 1024 * 1024,
          "Largest request message accepted, in bytes.");
ABSL_FLAG(int, max_threads, 64,
          "Most threads serving RPCs at once; calls beyond are refused with "
          "RESOURCE_EXHAUSTED.");
ABSL_FLAG(int64_t, memory_quota_bytes, 256LL * 1024 * 1024,
          "Memory gRPC may use for connection and message buffers, in bytes.");
ABSL_FLAG(int, max_concurrent_streams, 100,
          "Concurrent RPCs one client connection may have open.");
ABSL_FLAG(std::string, podio_api_base, "https://api.podio.com",
          "Podio's API base URL (tests and the demo point it at the "
          "simulator).");
ABSL_FLAG(std::string, podio_web_base, "https://podio.com",
          "Podio's web host, where the OAuth authorize page lives.");
ABSL_FLAG(std::string, podio_ca_file, "",
          "PEM CA bundle to verify Podio's TLS certificate with; empty = the "
          "system's. Verification is never switched off.");
ABSL_FLAG(std::string, dev_accounts_file, "",
          "Development only: a file of 'ACCOUNT_ID podio ACCESS_TOKEN' lines "
          "served as integrated accounts of the default tenant.");
ABSL_FLAG(std::string, cursor_key_file, "",
          "File with at least 32 secret bytes signing listing cursors; empty "
          "= a random key per process (cursors then end with it).");

namespace unified {
namespace {

int Run() {
  // Streams fetch on short-lived threads; glibc would give many of them an
  // arena of their own and keep the freed memory. Two arenas keep the
  // resident set flat (benchmark: tools/bench/stream_rss).
  mallopt(M_ARENA_MAX, 2);

  // Block the stop signals before any thread exists so that only the waiter
  // below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.max_receive_message_bytes =
      absl::GetFlag(FLAGS_max_receive_message_bytes);
  options.max_threads = absl::GetFlag(FLAGS_max_threads);
  options.memory_quota_bytes = absl::GetFlag(FLAGS_memory_quota_bytes);
  options.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);

  std::map<std::string, StaticAccount> static_accounts;
  if (const std::string path = absl::GetFlag(FLAGS_dev_accounts_file);
      !path.empty()) {
    absl::StatusOr<std::map<std::string, StaticAccount>> read =
        ReadStaticAccountsFile(path);
    if (!read.ok()) {
      std::fprintf(stderr, "server: %s\n", read.status().ToString().c_str());
      return 1;
    }
    static_accounts = std::move(*read);
  }
  std::unique_ptr<AccountResolver> accounts =
      NewStaticAccountResolver(std::move(static_accounts));

  std::string cursor_key = RandomCursorKey();
  if (const std::string path = absl::GetFlag(FLAGS_cursor_key_file);
      !path.empty()) {
    std::ifstream in(path, std::ios::binary);
    std::string key((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) key.clear();
    if (key.size() < 32) {
      std::fprintf(stderr,
                   "server: --cursor_key_file must hold at least 32 bytes\n");
      return 1;
    }
    cursor_key = key;
  }
  CursorCodec cursors(cursor_key);

  CurlHttpClientOptions http_options;
  http_options.ca_file = absl::GetFlag(FLAGS_podio_ca_file);
  std::unique_ptr<HttpClient> http = NewCurlHttpClient(http_options);
  podio::PodioClientOptions podio_options;
  podio_options.api_base = absl::GetFlag(FLAGS_podio_api_base);
  while (!podio_options.api_base.empty() &&
         podio_options.api_base.back() == '/') {
    podio_options.api_base.pop_back();
  }
  podio::PodioClient podio_client(http.get(), RealClock::Get(), podio_options);
  ConnectorRegistry connectors;
  if (absl::Status s =
          connectors.Register(podio::NewPodioConnector(&podio_client));
      !s.ok()) {
    std::fprintf(stderr, "server: %s\n", s.ToString().c_str());
    return 1;
  }

  UserDirectoryService user_directory(accounts.get(), &connectors, &cursors);
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(
      options, {{v1::UserDirectory::service_full_name(), &user_directory}});
  if (!server.ok()) {
    std::fprintf(stderr, "server: %s\n", server.status().ToString().c_str());
    return 1;
  }
  const std::string host = options.listen.substr(0, options.listen.rfind(':'));
  std::printf("listening on %s:%d\n", host.c_str(), (*server)->port());
  std::fflush(stdout);

  const absl::Duration grace = absl::GetFlag(FLAGS_shutdown_grace);
  std::thread waiter([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    std::fprintf(stderr, "server: signal %d, shutting down (grace %s)\n",
                 signal_number, absl::FormatDuration(grace).c_str());
    (*server)->Shutdown(grace);
  });
  (*server)->Wait();
  waiter.join();
  std::fprintf(stderr, "server: stopped\n");
  return 0;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Serves the unified User Directory gRPC API (unified.v1).");
  absl::ParseCommandLine(argc, argv);
  return unified::Run();
}
