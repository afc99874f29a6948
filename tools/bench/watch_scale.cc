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
//    account (accounts.db and its WAL, over the accounts);
//  - then, with the polls still running, how long a roster change takes to
//    reach a watching stream (change_delay.h): on --hooked_changes
//    accounts made workspace admins before they were linked (the server
//    takes Podio's hooks on its side listener, --hook_base_url=local), and
//    on --polled_changes ordinary members, whose changes only the poll
//    finds. The slowest of each kind is judged: 1 s by hook, the interval
//    plus 10 s by poll.
//
// The accounts share organizations, --accounts / --orgs of them each (ten
// by default). --baseline=false leaves out the run one after another (at
// thousands of accounts its lag only grows with the run). The interval is
// the server's default, 5 minutes: a shorter one is stretched by each
// account's poll share (docs/watching.md), which the change figure would
// then measure.
//
//   bazel run -c opt //tools/bench:watch_scale [-- --accounts=1000 --run=10m]
//   bazel run -c opt //tools/bench:watch_scale -- --accounts=10000
//       --tenants=100 --run=7m --baseline=false  (one command)
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "connectors/common/http_client.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "tools/bench/bench_server.h"
#include "tools/bench/change_delay.h"
#include "tools/bench/report.h"
#include "tools/bench/watch_accounts.h"
#include "tools/podio_sim/sim_client.h"
#include "tools/podio_sim/simulator.h"
#include "tools/testing/api_key_channel.h"

ABSL_FLAG(int, accounts, 200, "Watched accounts (one Podio user each).");
ABSL_FLAG(int, tenants, 10, "Tenants the accounts are spread over.");
ABSL_FLAG(int, latency_ms, 100, "Added to every simulator answer.");
ABSL_FLAG(absl::Duration, interval, absl::Minutes(5),
          "--watch_poll_interval of the server.");
ABSL_FLAG(absl::Duration, run, absl::Minutes(4), "How long polls run.");
ABSL_FLAG(int, concurrency, 32, "--watch_poll_concurrency of the fast run.");
ABSL_FLAG(int, orgs, 0,
          "Organizations the accounts' users are spread over (0: one per ten "
          "accounts).");
ABSL_FLAG(bool, baseline, true,
          "Also run polls one after another, side by side.");
ABSL_FLAG(int, hooked_changes, 2,
          "Accounts made workspace admins, whose change comes by hook.");
ABSL_FLAG(int, polled_changes, 4,
          "Accounts whose change only their poll finds.");

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
  // The slowest change to reach its stream; -1 when one never arrived or
  // came another way.
  double hook_delay_max_s = -1;
  double poll_delay_max_s = -1;
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

// The mail of the simulated user of watched account `i`.
std::string MailOf(int i) {
  return bench::SimUserMail(i + 2, Orgs());  // After the two principals.
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

absl::StatusOr<std::unique_ptr<podio_sim::Simulator>> StartSimulator() {
  podio_sim::SimulatorOptions sim_options;
  sim_options.data.users = absl::GetFlag(FLAGS_accounts) + 2;
  sim_options.data.orgs = Orgs();
  sim_options.data.spaces_per_org = 4;
  sim_options.user_password = kPassword;
  sim_options.real_time_clock = true;
  // Each tenant links the demo administrator (bench_server.h), whose token
  // grants would otherwise pass the token endpoint's own limit at 100
  // tenants; API calls keep Podio's limits, which pace the polls.
  sim_options.rate.token_limit = 1000;
  podio_sim::FaultRule latency;
  latency.path = "*";
  latency.kind = podio_sim::FaultKind::kLatency;
  latency.latency = absl::Milliseconds(absl::GetFlag(FLAGS_latency_ms));
  sim_options.faults = {latency};
  return podio_sim::Simulator::Start(sim_options);
}

// The change samples among the first accounts (each of another
// organization while there are more organizations than samples); a
// sample's candidate is its account's index.
absl::StatusOr<std::vector<bench::ChangeSample>> ChangeSamples(
    podio_sim::Simulator& sim, HttpClient& http, const std::string& token) {
  std::vector<std::string> candidates;
  for (int i = 0; i < std::min(absl::GetFlag(FLAGS_accounts), 200); ++i) {
    candidates.push_back(MailOf(i));
  }
  return bench::PrepareChangeSamples(sim, http, token, candidates,
                                     absl::GetFlag(FLAGS_hooked_changes),
                                     absl::GetFlag(FLAGS_polled_changes));
}

// Makes the samples' changes and keeps the slowest arrival of each kind.
void MeasureChanges(const bench::BenchServer& server,
                    const std::vector<std::string>& tenants,
                    std::vector<bench::ChangeSample> samples,
                    const std::vector<std::string>& accounts, HttpClient& http,
                    const std::string& sim_url, const std::string& token,
                    Result* result) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (bench::ChangeSample& sample : samples) {
    const int i = sample.candidate;
    sample.account = accounts[i];
    channels.push_back(testing::ApiKeyChannel(
        server.address, server.api_keys.at(tenants[i % tenants.size()])));
  }
  const absl::Duration interval = absl::GetFlag(FLAGS_interval);
  const std::vector<bench::ChangeDelay> delays = bench::MeasureChangeDelays(
      samples, channels, http, sim_url, token, interval + absl::Minutes(1));
  double hook_max = 0, poll_max = 0;
  bool hooks_ok = true, polls_ok = true;
  for (const bench::ChangeDelay& d : delays) {
    const double s = absl::ToDoubleSeconds(d.delay);
    const int expected = d.hooked ? v1::DirectoryEvent::SOURCE_HOOK
                                  : v1::DirectoryEvent::SOURCE_POLL;
    std::fprintf(stderr, "  change %s: %s after %.2f s (source %d)\n",
                 d.hooked ? "by hook" : "by poll",
                 d.arrived ? "arrived" : "missing", s, d.source);
    bool& ok = d.hooked ? hooks_ok : polls_ok;
    ok = ok && d.arrived && d.source == expected;
    double& max = d.hooked ? hook_max : poll_max;
    max = std::max(max, s);
  }
  result->hook_delay_max_s = hooks_ok ? hook_max : -1;
  result->poll_delay_max_s = polls_ok ? poll_max : -1;
}

// The idle run's figures from the store, the process and the simulator's
// log since `first`, over [start, end].
void MeasureIdle(podio_sim::Simulator& sim, const bench::BenchServer& server,
                 int64_t first, absl::Time start, absl::Time end, double cpu,
                 int64_t rss_grown_kb, Result* result) {
  const int n = absl::GetFlag(FLAGS_accounts);
  const int64_t db_bytes = FileBytes(server.dir + "/accounts.db") +
                           FileBytes(server.dir + "/accounts.db-wal");
  result->cpu_s_per_account_hour = cpu / n / absl::ToDoubleHours(end - start);
  result->rss_kb_per_account = static_cast<double>(rss_grown_kb) / n;
  result->db_kb_per_account = static_cast<double>(db_bytes) / 1024.0 / n;
  std::vector<double> lags = Lags(server.dir + "/accounts.db", end);
  int64_t polls = 0, calls = 0, refused = 0;
  for (const auto& r : sim.request_log().Since(first)) {
    if (r.path.rfind("/oauth/", 0) == 0) continue;
    ++calls;
    polls += r.method == "GET" && r.path == "/org/";
    refused += r.status == 403;
  }
  result->lag_p50_s = bench::Quantile(lags, 0.5);
  result->lag_p99_s = bench::Quantile(lags, 0.99);
  result->polls_per_minute =
      static_cast<double>(polls) / absl::ToDoubleMinutes(end - start);
  if (polls > 0) {
    result->calls_per_poll = static_cast<double>(calls) / polls;
    result->refused_per_poll = static_cast<double>(refused) / polls;
  }
}

// Links and watches every account, lets the polls run idle for --run, then
// (with `changes`) measures the change samples' delays.
Result Measure(const char* argv0, int concurrency, bool changes) {
  Result result;
  const int n = absl::GetFlag(FLAGS_accounts);
  auto sim = StartSimulator();
  if (!sim.ok()) {
    std::fprintf(stderr, "watch_scale: %s\n", sim.status().ToString().c_str());
    return result;
  }
  std::unique_ptr<HttpClient> http = NewCurlHttpClient({});
  absl::StatusOr<std::string> token =
      podio_sim::PasswordGrantToken(*http, (*sim)->base_url());
  if (!token.ok()) {
    std::fprintf(stderr, "watch_scale: %s\n",
                 token.status().ToString().c_str());
    return result;
  }
  absl::StatusOr<std::vector<bench::ChangeSample>> samples =
      changes ? ChangeSamples(**sim, *http, *token)
              : std::vector<bench::ChangeSample>();
  if (!samples.ok()) {
    std::fprintf(stderr, "watch_scale: %s\n",
                 samples.status().ToString().c_str());
    return result;
  }
  std::vector<std::string> tenants;
  for (int t = 0; t < absl::GetFlag(FLAGS_tenants); ++t) {
    tenants.push_back(absl::StrCat("tenant", t));
  }
  absl::StatusOr<bench::BenchServer> server = bench::StartBenchServer(
      bench::ServerPath(argv0), (*sim)->base_url(),
      {absl::StrCat("--watch_poll_interval=",
                    absl::FormatDuration(absl::GetFlag(FLAGS_interval))),
       absl::StrCat("--watch_poll_concurrency=", concurrency), "--workers=64",
       "--http_listen=127.0.0.1:0", "--hook_base_url=local"},
      "/dev/null", tenants);
  if (!server.ok()) {
    std::fprintf(stderr, "watch_scale: %s\n",
                 server.status().ToString().c_str());
    return result;
  }
  const pid_t pid = server->process->pid();
  const int64_t rss_before_kb = bench::ProcStatusField(pid, "VmRSS");
  std::vector<std::string> accounts(n);
  bench::Parallel(n, 32, [&](int i) {
    const std::string& key = server->api_keys[tenants[i % tenants.size()]];
    accounts[i] =
        bench::LinkAndWatch(server->address, key, MailOf(i), kPassword);
  });
  const int linked = static_cast<int>(
      std::count_if(accounts.begin(), accounts.end(),
                    [](const std::string& a) { return !a.empty(); }));
  std::fprintf(stderr, "concurrency %d: %d of %d accounts watched\n",
               concurrency, linked, n);
  if (linked != n) return result;
  const int64_t first = (*sim)->request_log().next_seq();
  const absl::Time start = absl::Now();
  const double cpu_before = bench::ProcCpuSeconds(pid);
  absl::SleepFor(absl::GetFlag(FLAGS_run));
  const absl::Time end = absl::Now();
  const double cpu = bench::ProcCpuSeconds(pid) - cpu_before;
  MeasureIdle(**sim, *server, first, start, end, cpu,
              bench::ProcStatusField(pid, "VmRSS") - rss_before_kb, &result);
  if (changes) {
    MeasureChanges(*server, tenants, *std::move(samples), accounts, *http,
                   (*sim)->base_url(), *token, &result);
  }
  server->Stop();
  return result;
}

void Print(const Result& one, const Result& many) {
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const bool baseline = absl::GetFlag(FLAGS_baseline);
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
  std::printf(
      "  a roster change reached its stream within %.2f s by hook and %.1f s "
      "by poll (slowest of each)\n",
      many.hook_delay_max_s, many.poll_delay_max_s);
}

int Run(const char* argv0) {
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const bool baseline = absl::GetFlag(FLAGS_baseline);
  const Result one = baseline ? Measure(argv0, 0, false) : Result();
  const Result many = Measure(argv0, concurrency, true);
  const int n = absl::GetFlag(FLAGS_accounts);
  Print(one, many);
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
  if (many.hook_delay_max_s < 0 || many.poll_delay_max_s < 0) {
    std::fprintf(stderr,
                 "watch_scale: a change did not reach its stream the way "
                 "expected\n");
    return 1;
  }
  // A kind of change with no sample has no figure (none measured).
  const int hooked = absl::GetFlag(FLAGS_hooked_changes);
  const int polled = absl::GetFlag(FLAGS_polled_changes);
  if (hooked > 0) {
    bench::Report(
        bench::Alone(absl::StrCat("watch change delay by hook, slowest of ",
                                  hooked, " (", what, ")"),
                     many.hook_delay_max_s, "s", bench::Target::kAtMost, 1));
  }
  if (polled > 0) {
    bench::Report(bench::Alone(
        absl::StrCat("watch change delay by poll, slowest of ", polled, " (",
                     what, ")"),
        many.poll_delay_max_s, "s", bench::Target::kAtMost, interval_s + 10));
  }
  return 0;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unified::Run(argv[0]);
}
