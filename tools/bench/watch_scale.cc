// Benchmark: reconciliation polls of many watched accounts, each a Podio
// user of its own, over several tenants, with every simulator answer held
// for --latency_ms (real Podio is slower than an answer at once). The same
// run is made with polls one after another on the watch loop
// (--watch_poll_concurrency=0, as the first releases polled) and with
// polls at once (--watch_poll_concurrency=32, the default), side by side.
//
// Figures, after --run of polling at --interval:
//  - poll lag: how late each account's next poll is at the end of the run
//    (now - its due time, 0 when not due), p50 and p99 over the accounts,
//    read from the server's store;
//  - polls done per minute, from the simulator's request log (each poll
//    starts with GET /org/);
//  - calls per idle poll and refused (403) calls per poll, from the same
//    log: nothing changes in the directory during the run;
//  - the server's CPU per account-hour over the run, its RSS per watched
//    account (grown since before the first link), and the store's bytes per
//    account (accounts.db and its WAL, over the accounts).
//
// The accounts share organizations, --accounts / --orgs of them each (ten
// by default). --baseline=false leaves out the run one after another (at
// thousands of accounts its lag only grows with the run).
//
//   bazel run -c opt //tools/bench:watch_scale [-- --accounts=1000 --run=10m]
//   bazel run -c opt //tools/bench:watch_scale -- --accounts=10000 \
//       --tenants=100 --interval=5m --run=12m --baseline=false
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "tools/bench/bench_server.h"
#include "tools/bench/report.h"
#include "tools/podio_sim/simulator.h"
#include "tools/testing/api_key_channel.h"

ABSL_FLAG(int, accounts, 200, "Watched accounts (one Podio user each).");
ABSL_FLAG(int, tenants, 10, "Tenants the accounts are spread over.");
ABSL_FLAG(int, latency_ms, 100, "Added to every simulator answer.");
ABSL_FLAG(absl::Duration, interval, absl::Seconds(60),
          "--watch_poll_interval of the server.");
ABSL_FLAG(absl::Duration, run, absl::Minutes(4), "How long polls run.");
ABSL_FLAG(int, concurrency, 32, "--watch_poll_concurrency of the fast run.");
ABSL_FLAG(int, orgs, 0,
          "Organizations the accounts' users are spread over (0: one per ten "
          "accounts).");
ABSL_FLAG(bool, baseline, true,
          "Also run polls one after another, side by side.");

namespace unified {
namespace {

constexpr char kPassword[] = "bench-password";

struct Result {
  double lag_p50_s = -1;
  double lag_p99_s = -1;
  double polls_per_minute = 0;
  double calls_per_poll = 0;
  double refused_per_poll = 0;
  double cpu_s_per_account_hour = -1;
  double rss_kb_per_account = -1;
  double db_kb_per_account = -1;
};

int Orgs() {
  const int orgs = absl::GetFlag(FLAGS_orgs);
  return orgs > 0 ? orgs : std::max(1, absl::GetFlag(FLAGS_accounts) / 10);
}

int64_t FileBytes(const std::string& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  return error ? 0 : static_cast<int64_t>(size);
}

// Runs `job(i)` for i in [0, n) on `threads` threads.
void Parallel(int n, int threads, const std::function<void(int)>& job) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) job(i);
    });
  }
  for (std::thread& t : pool) t.join();
}

// Links generated user `index` (user<index>@org<k>.example.com) under
// `api_key`, then takes its watch's baseline; the account id, "" on failure.
std::string LinkAndWatch(const std::string& address, const std::string& api_key,
                         int index) {
  auto channel = testing::ApiKeyChannel(address, api_key);
  grpc::ClientContext link_context;
  link_context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Minutes(2)));
  v1::LinkWithPasswordRequest link;
  link.set_username(
      absl::StrCat("user", index, "@org", index % Orgs() + 1, ".example.com"));
  link.set_password(kPassword);
  v1::IntegratedAccount account;
  if (!v1::IntegratedAccounts::NewStub(channel)
           ->LinkWithPassword(&link_context, link, &account)
           .ok()) {
    return "";
  }
  grpc::ClientContext watch_context;
  watch_context.set_deadline(
      absl::ToChronoTime(absl::Now() + absl::Minutes(5)));
  v1::WatchDirectoryRequest watch;
  watch.set_integrated_account_id(account.id());
  watch.set_include_snapshot(true);
  auto reader = v1::UserDirectory::NewStub(channel)->WatchDirectory(
      &watch_context, watch);
  v1::DirectoryEvent event;
  while (reader->Read(&event)) {
    if (event.type() == v1::DirectoryEvent::SNAPSHOT_COMPLETE) break;
  }
  watch_context.TryCancel();
  (void)reader->Finish();
  return event.type() == v1::DirectoryEvent::SNAPSHOT_COMPLETE ? account.id()
                                                               : "";
}

// How late each watched account's next poll is at `now`, in seconds.
std::vector<double> Lags(const std::string& db_path, absl::Time now) {
  std::vector<double> lags;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK) {
    sqlite3_close(db);
    return lags;
  }
  sqlite3_busy_timeout(db, 10000);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT next_poll_ms FROM watch_accounts WHERE "
                         "baseline_done = 1",
                         -1, &stmt, nullptr) == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const absl::Time due =
          absl::FromUnixMillis(sqlite3_column_int64(stmt, 0));
      lags.push_back(std::max(0.0, absl::ToDoubleSeconds(now - due)));
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  std::sort(lags.begin(), lags.end());
  return lags;
}

double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return -1;
  return sorted[std::min(sorted.size() - 1,
                         static_cast<size_t>(q * sorted.size()))];
}

Result Measure(const char* argv0, int concurrency) {
  Result result;
  const int n = absl::GetFlag(FLAGS_accounts);
  podio_sim::SimulatorOptions sim_options;
  sim_options.data.users = n + 2;
  sim_options.data.orgs = Orgs();
  sim_options.data.spaces_per_org = 4;
  sim_options.user_password = kPassword;
  sim_options.real_time_clock = true;
  podio_sim::FaultRule latency;
  latency.path = "*";
  latency.kind = podio_sim::FaultKind::kLatency;
  latency.latency = absl::Milliseconds(absl::GetFlag(FLAGS_latency_ms));
  sim_options.faults = {latency};
  auto sim = podio_sim::Simulator::Start(sim_options);
  if (!sim.ok()) return result;
  std::vector<std::string> tenants;
  for (int t = 0; t < absl::GetFlag(FLAGS_tenants); ++t) {
    tenants.push_back(absl::StrCat("tenant", t));
  }
  absl::StatusOr<bench::BenchServer> server = bench::StartBenchServer(
      bench::ServerPath(argv0), (*sim)->base_url(),
      {absl::StrCat("--watch_poll_interval=",
                    absl::FormatDuration(absl::GetFlag(FLAGS_interval))),
       absl::StrCat("--watch_poll_concurrency=", concurrency), "--workers=64"},
      "/dev/null", tenants);
  if (!server.ok()) return result;
  const pid_t pid = server->process->pid();
  const int64_t rss_before_kb = bench::ProcStatusField(pid, "VmRSS");
  std::atomic<int> linked{0};
  Parallel(n, 32, [&](int i) {
    const std::string& key = server->api_keys[tenants[i % tenants.size()]];
    if (!LinkAndWatch(server->address, key, i + 2).empty()) ++linked;
  });
  std::fprintf(stderr, "concurrency %d: %d of %d accounts watched\n",
               concurrency, linked.load(), n);
  if (linked.load() != n) return result;
  const int64_t first = (*sim)->request_log().next_seq();
  const absl::Time start = absl::Now();
  const double cpu_before = bench::ProcCpuSeconds(pid);
  absl::SleepFor(absl::GetFlag(FLAGS_run));
  const absl::Time end = absl::Now();
  const double cpu = bench::ProcCpuSeconds(pid) - cpu_before;
  const int64_t rss_kb = bench::ProcStatusField(pid, "VmRSS");
  const int64_t db_bytes = FileBytes(server->dir + "/accounts.db") +
                           FileBytes(server->dir + "/accounts.db-wal");
  result.cpu_s_per_account_hour = cpu / n / absl::ToDoubleHours(end - start);
  result.rss_kb_per_account = static_cast<double>(rss_kb - rss_before_kb) / n;
  result.db_kb_per_account = static_cast<double>(db_bytes) / 1024.0 / n;
  std::vector<double> lags = Lags(server->dir + "/accounts.db", end);
  int64_t polls = 0, calls = 0, refused = 0;
  for (const auto& r : (*sim)->request_log().Since(first)) {
    if (r.path.rfind("/oauth/", 0) == 0) continue;
    ++calls;
    polls += r.method == "GET" && r.path == "/org/";
    refused += r.status == 403;
  }
  server->Stop();
  result.lag_p50_s = Quantile(lags, 0.5);
  result.lag_p99_s = Quantile(lags, 0.99);
  result.polls_per_minute =
      static_cast<double>(polls) / absl::ToDoubleMinutes(end - start);
  if (polls > 0) {
    result.calls_per_poll = static_cast<double>(calls) / polls;
    result.refused_per_poll = static_cast<double>(refused) / polls;
  }
  return result;
}

int Run(const char* argv0) {
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const bool baseline = absl::GetFlag(FLAGS_baseline);
  const Result one = baseline ? Measure(argv0, 0) : Result();
  const Result many = Measure(argv0, concurrency);
  const int n = absl::GetFlag(FLAGS_accounts);
  std::printf(
      "%d watched accounts over %d tenants and %d organizations, %d ms per "
      "Podio answer, polled every %s for %s:\n",
      n, absl::GetFlag(FLAGS_tenants), Orgs(), absl::GetFlag(FLAGS_latency_ms),
      absl::FormatDuration(absl::GetFlag(FLAGS_interval)).c_str(),
      absl::FormatDuration(absl::GetFlag(FLAGS_run)).c_str());
  std::vector<std::pair<std::string, Result>> runs;
  if (baseline) runs.emplace_back("one after another", one);
  runs.emplace_back(absl::StrCat(concurrency, " at once"), many);
  for (const auto& [name, r] : runs) {
    std::printf(
        "  %-18s poll lag p50 %.1f s, p99 %.1f s; %.1f polls/min; %.1f "
        "calls and %.2f refused per poll; %.3f CPU s per account-hour, "
        "%.1f KB RSS and %.1f KB of store per account\n",
        name.c_str(), r.lag_p50_s, r.lag_p99_s, r.polls_per_minute,
        r.calls_per_poll, r.refused_per_poll, r.cpu_s_per_account_hour,
        r.rss_kb_per_account, r.db_kb_per_account);
  }
  if ((baseline && one.lag_p99_s < 0) || many.lag_p99_s < 0) {
    std::fprintf(stderr, "watch_scale: a run failed\n");
    return 1;
  }
  const std::string what = absl::StrCat(
      n, " accounts, ", absl::GetFlag(FLAGS_latency_ms), " ms per answer");
  const double interval_s =
      absl::ToDoubleSeconds(absl::GetFlag(FLAGS_interval));
  if (baseline) {
    bench::Report(bench::Versus(
        absl::StrCat("watch poll lag p99 (", what, "), polls at once"),
        many.lag_p99_s, "s", one.lag_p99_s, "polls one after another"));
    bench::Report(bench::Versus(
        absl::StrCat("watch polls per minute (", what, "), at once"),
        many.polls_per_minute, "polls/min", one.polls_per_minute,
        "polls one after another"));
  }
  bench::Report(bench::Alone(
      absl::StrCat("watch poll lag p99 within the interval (", what, ")"),
      many.lag_p99_s, "s", bench::Target::kAtMost, interval_s));
  bench::Report(
      bench::Alone(absl::StrCat("watch calls per idle poll (", what, ")"),
                   many.calls_per_poll, "calls", bench::Target::kAtMost, 8));
  bench::Report(bench::Alone(
      absl::StrCat("watch refused calls per idle poll (", what, ")"),
      many.refused_per_poll, "calls", bench::Target::kAtMost, 0));
  bench::Report(bench::Alone(
      absl::StrCat("watch server CPU per account-hour (", what, ")"),
      many.cpu_s_per_account_hour, "CPU s"));
  bench::Report(
      bench::Alone(absl::StrCat("watch RSS per watched account (", what, ")"),
                   many.rss_kb_per_account, "KB", bench::Target::kAtMost, 10));
  bench::Report(
      bench::Alone(absl::StrCat("watch store per account, ", n / Orgs(),
                                " per organization (", what, ")"),
                   many.db_kb_per_account, "KB", bench::Target::kAtMost, 20));
  return 0;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unified::Run(argv[0]);
}
