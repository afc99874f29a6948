// Benchmark 1 of the directory: StreamUsers of the real server process
// (//service:server as its builder wires it: rate budget, SQLite store, API key
// interceptor) over 100,000 users, with 50 ms of simulated Podio latency per
// member page, against three baselines measured in the same run:
//   - a sequential libcurl loop fetching the same pages one after another
//     (a hand-written client without concurrency);
//   - a windowed libcurl client: the same pages with as many requests in
//     flight as the server's read-ahead window at most (16), stopping at
//     the first short page (the best a hand-written client does with the
//     server's concurrency);
//   - the lower bound ceil(pages / window) x latency.
// Both on answers with member counts and on the recorded real shape without
// them (each its own simulator and server). Every contender must read the
// same users in the same order. Also benchmark 5: the Podio member pages a
// stream asks per listing against the minimum (the loop's), and the calls
// it read ahead in vain (its x-upstream-calls-wasted trailer).
//
//   bazel run -c opt //tools/bench:stream_vs_loop [-- --users=100000]
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "connectors/common/http_client.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "rapidjson/document.h"
#include "tools/testing/api_key_channel.h"
#include "tools/bench/bench_server.h"
#include "tools/bench/latent_simulator.h"
#include "tools/bench/report.h"
#include "tools/podio_sim/sim_client.h"
#include "tools/podio_sim/simulator.h"

ABSL_FLAG(int, users, 100000, "Users in the one organization.");
ABSL_FLAG(int, latency_ms, 50, "Simulated Podio latency per member page.");
ABSL_FLAG(int, rounds, 2, "Alternating rounds of each contender.");
ABSL_FLAG(int, window, 16,
          "Requests in flight of the windowed baseline: the server's "
          "read-ahead window at most (connectors/common/read_ahead.h).");

namespace unified {
namespace {

constexpr int kPage = 500;

// One listing's time, users, Podio member pages asked and calls wasted.
struct Listing {
  absl::Duration time;
  std::vector<std::string> ids;
  int64_t pages = 0;
  int64_t wasted = 0;
};

class Contenders {
 public:
  Contenders(podio_sim::Simulator* sim, const bench::BenchServer* server,
             std::string token)
      : sim_(sim), server_(server), token_(std::move(token)) {}

  std::optional<Listing> Stream() {
    const int64_t since = sim_->request_log().next_seq();
    Listing run;
    auto stub = v1::UserDirectory::NewStub(
        testing::ApiKeyChannel(server_->address, server_->api_key));
    const absl::Time start = absl::Now();
    grpc::ClientContext context;
    v1::ListUsersRequest request;
    request.set_integrated_account_id(server_->account);
    request.set_limit(kPage);
    auto reader = stub->StreamUsers(&context, request);
    v1::ListUsersResponse message;
    while (reader->Read(&message)) {
      for (const v1::User& user : message.result()) {
        run.ids.push_back(user.id());
      }
    }
    const grpc::Status status = reader->Finish();
    if (!status.ok()) {
      std::fprintf(stderr, "stream: %s\n", status.error_message().c_str());
      return std::nullopt;
    }
    run.time = absl::Now() - start;
    run.pages = MemberPages(since);
    const auto& trailers = context.GetServerTrailingMetadata();
    auto wasted = trailers.find("x-upstream-calls-wasted");
    if (wasted == trailers.end() ||
        !absl::SimpleAtoi(
            absl::string_view(wasted->second.data(), wasted->second.size()),
            &run.wasted)) {
      return std::nullopt;
    }
    return run;
  }

  // `window` requests in flight (1: the sequential loop), pages taken in
  // order of offset; no page is started past the first short one seen.
  std::optional<Listing> Window(int window) {
    const int64_t since = sim_->request_log().next_seq();
    Listing run;
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> end{INT64_MAX};  // Offset of the first short page.
    std::atomic<bool> failed{false};
    absl::Mutex mu;
    std::map<int64_t, std::vector<std::string>> pages;
    const absl::Time start = absl::Now();
    std::vector<std::thread> threads;
    for (int t = 0; t < window; ++t) {
      threads.emplace_back([&] {
        std::unique_ptr<HttpClient> http = NewCurlHttpClient({});
        for (;;) {
          const int64_t offset = next.fetch_add(kPage);
          if (offset > end.load() || failed) return;
          std::vector<std::string> ids;
          if (!Page(*http, offset, &ids)) {
            failed = true;
            return;
          }
          if (ids.size() < static_cast<size_t>(kPage)) {
            int64_t seen = end.load();
            while (offset < seen && !end.compare_exchange_weak(seen, offset)) {
            }
          }
          absl::MutexLock lock(&mu);
          pages[offset] = std::move(ids);
        }
      });
    }
    for (std::thread& t : threads) t.join();
    if (failed) return std::nullopt;
    run.time = absl::Now() - start;
    for (auto& [offset, ids] : pages) {
      if (offset > end.load()) break;
      run.ids.insert(run.ids.end(), ids.begin(), ids.end());
    }
    run.pages = MemberPages(since);
    return run;
  }

 private:
  bool Page(HttpClient& http, int64_t offset, std::vector<std::string>* ids) {
    HttpRequest request;
    request.url = absl::StrCat(sim_->base_url(), "/org/",
                               podio_sim::kFirstOrgId, "/member/?limit=", kPage,
                               "&offset=", offset, "&sort_by=name");
    request.headers = {{"Authorization", "OAuth2 " + token_},
                       {"Accept-Encoding", "gzip"}};
    auto r = http.Send(request);
    if (!r.ok() || r->status != 200) return false;
    rapidjson::Document page;
    page.ParseInsitu(&r->body[0]);
    if (!page.IsArray()) return false;
    for (const rapidjson::Value& member : page.GetArray()) {
      ids->push_back(absl::StrCat(member["user"]["user_id"].GetInt64()));
    }
    return true;
  }

  int64_t MemberPages(int64_t since) {
    int64_t n = 0;
    for (const auto& r : sim_->request_log().Since(since)) {
      n += podio_sim::GlobMatch("/org/*/member/", r.path) ? 1 : 0;
    }
    return n;
  }

  podio_sim::Simulator* sim_;
  const bench::BenchServer* server_;
  std::string token_;
};

// Runs every contender `rounds` times alternately on one simulator and
// reports; false when one failed or they read different users.
bool Measure(const char* argv0, bool counts) {
  podio_sim::SimulatorOptions options = bench::LatentSimulator(
      absl::GetFlag(FLAGS_users),
      absl::Milliseconds(absl::GetFlag(FLAGS_latency_ms)), {"/org/*/member/"});
  options.documented_fields = counts;
  auto sim = podio_sim::Simulator::Start(options);
  if (!sim.ok()) return false;
  absl::StatusOr<bench::BenchServer> server =
      bench::StartBenchServer(bench::ServerPath(argv0), (*sim)->base_url(),
                              // The budget stays in the path; Podio's hourly
                              // 1,000 would end the benchmark, not measure it.
                              {"--rate_limit=1000000000"}, "/dev/null");
  if (!server.ok()) {
    std::fprintf(stderr, "server: %s\n", server.status().ToString().c_str());
    return false;
  }
  std::unique_ptr<HttpClient> http = NewCurlHttpClient({});
  absl::StatusOr<std::string> token =
      podio_sim::PasswordGrantToken(*http, (*sim)->base_url());
  if (!token.ok()) return false;
  Contenders contenders(sim->get(), &*server, *token);
  const int window = absl::GetFlag(FLAGS_window);
  absl::Duration stream_total, loop_total, window_total;
  std::optional<Listing> stream, loop, windowed;
  const int rounds = absl::GetFlag(FLAGS_rounds);
  for (int round = 0; round < rounds; ++round) {
    loop = contenders.Window(1);
    windowed = contenders.Window(window);
    stream = contenders.Stream();
    if (!loop || !windowed || !stream) return false;
    if (stream->ids != loop->ids || windowed->ids != loop->ids ||
        loop->ids.empty()) {
      std::printf("the contenders read different users\n");
      return false;
    }
    loop_total += loop->time;
    window_total += windowed->time;
    stream_total += stream->time;
    std::printf("  round %d: loop %.2f s, window of %d %.2f s, stream %.2f s\n",
                round + 1, absl::ToDoubleSeconds(loop->time), window,
                absl::ToDoubleSeconds(windowed->time),
                absl::ToDoubleSeconds(stream->time));
  }
  server->Stop();
  const double s = absl::ToDoubleSeconds(stream_total) / rounds;
  const double l = absl::ToDoubleSeconds(loop_total) / rounds;
  const double w = absl::ToDoubleSeconds(window_total) / rounds;
  const int64_t needed = (static_cast<int64_t>(loop->ids.size())) / kPage + 1;
  const double bound = ((needed + window - 1) / window) *
                       absl::GetFlag(FLAGS_latency_ms) / 1000.0;
  const std::string shape = counts ? "with counts" : "without counts";
  std::printf(
      "%s: %zu users, the same for all, %d ms per page, %lld pages\n"
      "  sequential loop %.2f s, window of %d %.2f s, StreamUsers %.2f s, "
      "lower bound %.2f s\n",
      shape.c_str(), loop->ids.size(), absl::GetFlag(FLAGS_latency_ms),
      static_cast<long long>(needed), l, window, w, s, bound);
  bench::Report(bench::Versus(absl::StrCat("B1 StreamUsers, ", shape), s, "s",
                              l, "sequential libcurl loop",
                              bench::Target::kAtMost, 0.15));
  bench::Report(bench::Versus(
      absl::StrCat("B1 StreamUsers, ", shape), s, "s", w,
      absl::StrCat("libcurl client, ", window, " requests in flight")));
  bench::Report(bench::Versus(
      absl::StrCat("B1 StreamUsers, ", shape), s, "s", bound,
      absl::StrCat("lower bound ceil(pages / ", window, ") x latency")));
  bench::Report(bench::Versus(absl::StrCat("B5 member pages, ", shape),
                              static_cast<double>(stream->pages), "calls",
                              static_cast<double>(needed),
                              "pages the users fill (the minimum)"));
  bench::Report(bench::Alone(absl::StrCat("B5 read ahead in vain, ", shape),
                             static_cast<double>(stream->wasted), "calls",
                             bench::Target::kAtMost, 4));
  return true;
}

int Run(const char* argv0) {
  for (bool counts : {true, false}) {
    if (!Measure(argv0, counts)) return 1;
  }
  return 0;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unified::Run(argv[0]);
}
