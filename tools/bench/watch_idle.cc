// Benchmark 8: what idle WatchDirectory streams cost the server. The real
// server process (//service:server) serves 10, then (a fresh one) 1,000
// open, idle watch streams of one account; once every stream has received a
// heartbeat (so it is open and idle), the server's resident memory (VmRSS)
// and thread count are read from /proc. Side by side in one run; the ratios
// are the result.
//
//   bazel run -c opt //tools/bench:watch_idle [-- --many=1000 --few=10]

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "tools/testing/api_key_channel.h"
#include "tools/testing/service_files.h"
#include "tools/testing/subprocess.h"
#include "tools/bench/bench_server.h"
#include "tools/bench/report.h"
#include "tools/podio_sim/simulator.h"

ABSL_FLAG(int, few, 10, "Watch streams in the small run.");
ABSL_FLAG(int, many, 1000, "Watch streams in the large run.");

namespace unified {
namespace {

// Counts the streams that received a heartbeat.
class Ready {
 public:
  void Add() {
    absl::MutexLock lock(&mu_);
    ++n_;
  }
  bool WaitFor(int n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return n_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Minutes(2));
  }

 private:
  absl::Mutex mu_;
  int n_ ABSL_GUARDED_BY(mu_) = 0;
};

// One watch stream on the callback API: reads until cancelled.
class Watch final : public grpc::ClientReadReactor<v1::DirectoryEvent> {
 public:
  Watch(v1::UserDirectory::Stub* stub, const std::string& account, Ready* ready)
      : ready_(ready) {
    request_.set_integrated_account_id(account);
    stub->async()->WatchDirectory(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (event_.type() == v1::DirectoryEvent::HEARTBEAT && !counted_) {
      counted_ = true;
      ready_->Add();
    }
    StartRead(&event_);
  }
  void OnDone(const grpc::Status&) override {
    absl::MutexLock lock(&mu_);
    done_ = true;
  }
  void Stop() {
    context_.TryCancel();
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
  }

 private:
  grpc::ClientContext context_;
  v1::WatchDirectoryRequest request_;
  v1::DirectoryEvent event_;
  Ready* const ready_;
  bool counted_ = false;
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

struct Result {
  int streams = 0;
  int64_t rss_kib = 0;
  int64_t threads = 0;
  int64_t idle_rss_kib = 0;
  int64_t idle_threads = 0;
};

Result Measure(const std::string& server_path, const std::string& sim_url,
               int streams) {
  Result result;
  result.streams = streams;
  absl::StatusOr<bench::BenchServer> server =
      bench::StartBenchServer(server_path, sim_url, {"--watch_heartbeat=1s"});
  if (!server.ok()) return result;
  const std::string account = server->account;
  const pid_t pid = server->process->pid();
  // One connection per 100 streams (the server's per-connection limit).
  std::vector<std::unique_ptr<v1::UserDirectory::Stub>> stubs;
  for (int i = 0; i * 100 < streams; ++i) {
    grpc::ChannelArguments channel_args;
    channel_args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    stubs.push_back(v1::UserDirectory::NewStub(testing::ApiKeyChannel(
        server->address, server->api_key, channel_args)));
  }
  // The first stream takes the baseline; then the server idles.
  // (--watch_heartbeat=1s: every stream hears within a second or so.)
  Ready ready;
  std::vector<std::unique_ptr<Watch>> watches;
  watches.push_back(std::make_unique<Watch>(stubs[0].get(), account, &ready));
  if (!ready.WaitFor(1)) return result;
  result.idle_rss_kib = bench::ProcStatusField(pid, "VmRSS");
  result.idle_threads = bench::ProcStatusField(pid, "Threads");
  for (int i = 1; i < streams; ++i) {
    watches.push_back(
        std::make_unique<Watch>(stubs[i / 100].get(), account, &ready));
  }
  if (!ready.WaitFor(streams)) return result;
  result.rss_kib = bench::ProcStatusField(pid, "VmRSS");
  result.threads = bench::ProcStatusField(pid, "Threads");
  for (auto& w : watches) w->Stop();
  server->Stop();
  return result;
}

int Run(const char* argv0) {
  const std::string server_path = bench::ServerPath(argv0);
  podio_sim::SimulatorOptions options;
  options.data.users = 200;
  options.data.orgs = 1;
  options.rate.limit = 1LL << 40;
  auto sim = podio_sim::Simulator::Start(options);
  if (!sim.ok()) return 1;
  const Result few =
      Measure(server_path, (*sim)->base_url(), absl::GetFlag(FLAGS_few));
  const Result many =
      Measure(server_path, (*sim)->base_url(), absl::GetFlag(FLAGS_many));
  if (few.rss_kib <= 0 || many.rss_kib <= 0) {
    std::fprintf(stderr, "watch_idle: a run failed\n");
    return 1;
  }
  auto row = [](const Result& r) {
    std::printf(
        "  %5d idle watch streams: RSS %6.1f MiB, %3lld threads "
        "(one stream: %6.1f MiB, %3lld threads)\n",
        r.streams, r.rss_kib / 1024.0, static_cast<long long>(r.threads),
        r.idle_rss_kib / 1024.0, static_cast<long long>(r.idle_threads));
  };
  std::printf("server with idle WatchDirectory streams of one account:\n");
  row(few);
  row(many);
  std::printf("  ratio %d/%d: RSS %.2f, threads %.2f\n", many.streams,
              few.streams, static_cast<double>(many.rss_kib) / few.rss_kib,
              static_cast<double>(many.threads) / few.threads);
  std::printf("  memory per extra stream: %.1f KiB\n",
              static_cast<double>(many.rss_kib - few.rss_kib) /
                  (many.streams - few.streams));
  const std::string few_name = absl::StrCat(few.streams, " idle streams");
  bench::Report(bench::Versus(
      absl::StrCat("B8 server threads, ", many.streams, " idle watch streams"),
      static_cast<double>(many.threads), "threads",
      static_cast<double>(few.threads), few_name, bench::Target::kAtMost, 1.1));
  bench::Report(bench::Versus(
      absl::StrCat("B8 server RSS, ", many.streams, " idle watch streams"),
      many.rss_kib / 1024.0, "MiB", few.rss_kib / 1024.0, few_name));
  return 0;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unified::Run(argv[0]);
}
