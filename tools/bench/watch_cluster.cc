// Benchmark: the watch polls of N accounts on one, two and three replicas
// sharing one PostgreSQL behind HAProxy (tools/cluster), every simulator
// answer held --latency_ms. Each replica count runs on a cluster of its own
// (a fresh database, simulator and replicas), one after another, the same
// accounts linked and watched through HAProxy, then polled idle for --run
// at --interval. Figures for each:
//  - the polls each replica ran (unified_watch_polls_total on its
//    /metrics), and the largest share against an even split;
//  - the Podio calls the simulator answered (its request log, token calls
//    apart), per account-hour;
//  - the replicas' CPU together, per account-hour (PostgreSQL's apart);
//  - poll lag p99 at the end of the run, from the shared store.
// Judged against one replica in the same run: no more calls, CPU together
// within 1.2x, and no replica above 1.2x its even share of the polls.
//
//   bazel run -c opt //tools/bench:watch_cluster -- --accounts=10000
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "connectors/common/http_client.h"
#include "postgresql/libpq-fe.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "rapidjson/document.h"
#include "tools/bench/bench_server.h"
#include "tools/bench/report.h"
#include "tools/bench/watch_accounts.h"
#include "tools/cluster/cluster.h"
#include "tools/fixture/fixture.h"
#include "tools/testing/api_key_channel.h"

ABSL_FLAG(int, accounts, 1000, "Watched accounts (one Podio user each).");
ABSL_FLAG(std::vector<std::string>, replicas,
          std::vector<std::string>({"1", "2", "3"}),
          "Replica counts to run, one cluster each; the first is the "
          "baseline.");
ABSL_FLAG(int, latency_ms, 100, "Added to every simulator answer.");
ABSL_FLAG(absl::Duration, interval, absl::Minutes(5),
          "--watch_poll_interval of the replicas.");
ABSL_FLAG(absl::Duration, run, absl::Minutes(5), "How long polls run.");

namespace unified {
namespace {

constexpr char kPassword[] = "bench-password";

struct Result {
  int replicas = 0;
  std::vector<double> polls;  // Per replica, over the run.
  double calls_per_account_hour = -1;
  double cpu_s_per_account_hour = -1;
  double lag_p99_s = -1;
};

int Orgs() { return std::max(1, absl::GetFlag(FLAGS_accounts) / 10); }

std::string Url(const std::string& address, const std::string& path) {
  return absl::StartsWith(address, "http")
             ? address + path
             : absl::StrCat("http://", address, path);
}

// A counter's value from a replica's /metrics; -1 when not there.
double Counter(HttpClient& http, const std::string& side,
               const std::string& name) {
  HttpRequest request;
  request.url = Url(side, "/metrics");
  absl::StatusOr<HttpResponse> response = http.Send(request);
  if (!response.ok() || response->status != 200) return -1;
  for (absl::string_view line : absl::StrSplit(response->body, '\n')) {
    if (!absl::ConsumePrefix(&line, name) || !absl::ConsumePrefix(&line, " ")) {
      continue;
    }
    double value = 0;
    if (absl::SimpleAtod(line, &value)) return value;
  }
  return -1;
}

// The simulator's request log from `since`: its next position, and the
// API calls in it (token calls apart). Nullopt when unreadable.
struct LogCount {
  int64_t next = 0;
  int64_t calls = 0;
};
std::optional<LogCount> SimCalls(HttpClient& http, const std::string& admin_url,
                                 int64_t since) {
  HttpRequest request;
  request.url = absl::StrCat(admin_url, "/requests?since=", since);
  absl::StatusOr<HttpResponse> response = http.Send(request);
  if (!response.ok() || response->status != 200) return std::nullopt;
  rapidjson::Document doc;
  doc.Parse(response->body.data(), response->body.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("next") ||
      !doc.HasMember("requests") || !doc["requests"].IsArray()) {
    return std::nullopt;
  }
  LogCount count;
  count.next = doc["next"].GetInt64();
  const auto& requests = doc["requests"].GetArray();
  // The log keeps its last 200,000 calls: if it starts after `since`, some
  // were lost.
  if (!requests.Empty() && requests[0]["seq"].GetInt64() > since) {
    std::fprintf(stderr, "watch_cluster: the simulator's log lost calls\n");
    return std::nullopt;
  }
  for (const auto& r : requests) {
    count.calls += !absl::StartsWith(r["path"].GetString(), "/oauth/");
  }
  return count;
}

// The first column of `sql`'s rows in the shared store; nullopt when it
// does not answer.
std::optional<std::vector<std::string>> Column(const std::string& store_url,
                                               const char* sql) {
  PGconn* conn = PQconnectdb(store_url.c_str());
  PGresult* r = PQexec(conn, sql);
  std::optional<std::vector<std::string>> out;
  if (PQresultStatus(r) == PGRES_TUPLES_OK) {
    out.emplace();
    for (int i = 0; i < PQntuples(r); ++i) out->push_back(PQgetvalue(r, i, 0));
  }
  PQclear(r);
  PQfinish(conn);
  return out;
}

// How late each watched account's next poll is at `now`, p99, from the
// shared store; -1 when unreadable.
double LagP99(const std::string& store_url, absl::Time now) {
  std::vector<double> lags;
  const auto due = Column(store_url,
                          "SELECT next_poll_ms FROM watch_accounts WHERE "
                          "baseline_done = 1");
  for (const std::string& text : due.value_or(std::vector<std::string>())) {
    int64_t due_ms = 0;
    if (!absl::SimpleAtoi(text, &due_ms)) continue;
    lags.push_back(std::max(
        0.0, absl::ToDoubleSeconds(now - absl::FromUnixMillis(due_ms))));
  }
  std::sort(lags.begin(), lags.end());
  return bench::Quantile(lags, 0.99);
}

// Watched accounts (baseline taken) in the shared store; -1 unreadable.
int WatchedAccounts(const std::string& store_url) {
  const auto count = Column(store_url,
                            "SELECT COUNT(*) FROM watch_accounts WHERE "
                            "baseline_done = 1");
  int n = -1;
  if (!count || count->size() != 1 || !absl::SimpleAtoi((*count)[0], &n)) {
    return -1;
  }
  return n;
}

// Opens a WatchDirectory over all the tenant's accounts and waits until
// every account has its baseline (counted in the store every 5 s, at most
// an hour); then closes it. The accounts watched. The fixture's own
// account, the directory's administrator (every organization and
// workspace), is paused first: its baseline alone would take longer than
// its rate budget allows.
int WatchAll(cluster::Cluster& c) {
  auto stub = v1::UserDirectory::NewStub(
      testing::ApiKeyChannel(c.address(), c.fixture().api_key()));
  grpc::ClientContext pause_context;
  v1::SetWatchingRequest pause;
  pause.set_integrated_account_id(c.fixture().account());
  pause.set_watching(false);
  v1::WatchStatus status;
  if (!stub->SetWatching(&pause_context, pause, &status).ok()) return -1;
  grpc::ClientContext context;
  v1::WatchDirectoryRequest request;
  request.set_all_accounts(true);
  auto reader = stub->WatchDirectory(&context, request);
  const int want = absl::GetFlag(FLAGS_accounts);
  int watched = 0;
  for (const absl::Time give_up = absl::Now() + absl::Hours(1);
       absl::Now() < give_up; absl::SleepFor(absl::Seconds(5))) {
    watched = WatchedAccounts(c.store_url());
    if (watched >= want || watched < 0) break;
  }
  context.TryCancel();
  (void)reader->Finish();
  return watched;
}

absl::StatusOr<std::unique_ptr<cluster::Cluster>> StartCluster(int replicas) {
  const int n = absl::GetFlag(FLAGS_accounts);
  cluster::ClusterOptions options;
  options.replicas = replicas;
  options.fixture.users = n + 2;
  options.fixture.orgs = Orgs();
  options.fixture.spaces_per_org = 4;
  options.fixture.faults =
      absl::StrCat(R"([{"path":"*","kind":"latency","latency_ms":)",
                   absl::GetFlag(FLAGS_latency_ms), "}]");
  options.fixture.sim_flags = {"--real_time_clock",
                               absl::StrCat("--user_password=", kPassword)};
  options.fixture.server_flags = {
      absl::StrCat("--watch_poll_interval=",
                   absl::FormatDuration(absl::GetFlag(FLAGS_interval))),
      "--workers=64"};
  return cluster::Cluster::Start(options);
}

// The replicas' CPU seconds and poll counters now.
void Sample(cluster::Cluster& c, HttpClient& http, std::vector<double>* cpu,
            std::vector<double>* polls) {
  fixture::Fixture& f = c.fixture();
  cpu->clear();
  polls->clear();
  for (int i = 0; i < f.replicas(); ++i) {
    cpu->push_back(bench::ProcCpuSeconds(f.replica_pid(i)));
    polls->push_back(
        Counter(http, f.replica_http_address(i), "unified_watch_polls_total"));
  }
}

Result Measure(int replicas) {
  Result result;
  result.replicas = replicas;
  const int n = absl::GetFlag(FLAGS_accounts);
  absl::StatusOr<std::unique_ptr<cluster::Cluster>> c = StartCluster(replicas);
  if (!c.ok()) {
    std::fprintf(stderr, "watch_cluster: %s\n", c.status().ToString().c_str());
    return result;
  }
  fixture::Fixture& f = (*c)->fixture();
  CurlHttpClientOptions http_options;
  http_options.max_response_bytes = size_t{1} << 30;  // The request log.
  std::unique_ptr<HttpClient> http = NewCurlHttpClient(http_options);
  std::vector<std::string> accounts(n);
  bench::Parallel(n, 32, [&](int i) {
    accounts[i] = bench::Link((*c)->address(), f.api_key(),
                              bench::SimUserMail(i + 2, Orgs()), kPassword);
  });
  const int linked = static_cast<int>(std::count_if(
      accounts.begin(), accounts.end(), [](auto& a) { return !a.empty(); }));
  // One tenant-wide stream: the engine takes the baselines on its pollers,
  // at once (WatchDirectory on each account would take one tenant's
  // baselines one at a time, as bulk work: service/core/worker_pool.h).
  const int watched = linked == n ? WatchAll(**c) : 0;
  std::fprintf(stderr, "%d replicas: %d of %d accounts linked, %d watched\n",
               replicas, linked, n, watched);
  if (watched != n) return result;
  std::optional<LogCount> before =
      SimCalls(*http, f.sim_admin_url(), int64_t{1} << 62);
  if (!before) return result;
  std::vector<double> cpu0, polls0, cpu1, polls1;
  Sample(**c, *http, &cpu0, &polls0);
  const absl::Time start = absl::Now();
  absl::SleepFor(absl::GetFlag(FLAGS_run));
  const absl::Time end = absl::Now();
  Sample(**c, *http, &cpu1, &polls1);
  const std::optional<LogCount> calls =
      SimCalls(*http, f.sim_admin_url(), before->next);
  const double account_hours = n * absl::ToDoubleHours(end - start);
  double cpu = 0;
  for (int i = 0; i < replicas; ++i) {
    cpu += cpu1[i] - cpu0[i];
    result.polls.push_back(polls1[i] - polls0[i]);
    if (polls0[i] < 0 || polls1[i] < 0) return result;
  }
  // A run in which no poll came due measures nothing (--run shorter than
  // --interval).
  if (!calls || calls->calls == 0 ||
      *std::max_element(result.polls.begin(), result.polls.end()) <= 0) {
    std::fprintf(stderr, "watch_cluster: no poll ran in the run\n");
    return result;
  }
  result.calls_per_account_hour = calls->calls / account_hours;
  result.cpu_s_per_account_hour = cpu / account_hours;
  result.lag_p99_s = LagP99((*c)->store_url(), end);
  return result;
}

// The largest replica's polls against an even split (1 = even).
double LargestShare(const Result& r) {
  double total = 0, largest = 0;
  for (double p : r.polls) {
    total += p;
    largest = std::max(largest, p);
  }
  return total > 0 ? largest / (total / r.polls.size()) : -1;
}

void Print(const Result& r) {
  std::string polls;
  for (double p : r.polls) {
    absl::StrAppend(&polls, polls.empty() ? "" : " / ",
                    static_cast<int64_t>(p));
  }
  std::printf(
      "  %d replica(s): polls %s; %.1f Podio calls and %.3f CPU s (replicas "
      "together) per account-hour; poll lag p99 %.1f s\n",
      r.replicas, polls.c_str(), r.calls_per_account_hour,
      r.cpu_s_per_account_hour, r.lag_p99_s);
}

void Report(const Result& one, const Result& r, const std::string& what) {
  const std::string on = absl::StrCat(r.replicas, " replicas on PostgreSQL");
  bench::Report(bench::Versus(
      absl::StrCat("watch Podio calls per account-hour, ", on, " (", what, ")"),
      r.calls_per_account_hour, "calls", one.calls_per_account_hour,
      absl::StrCat(one.replicas, " replica"), bench::Target::kAtMost, 1.0));
  bench::Report(bench::Versus(
      absl::StrCat("watch CPU per account-hour, ", on, " together (", what,
                   ")"),
      r.cpu_s_per_account_hour, "CPU s", one.cpu_s_per_account_hour,
      absl::StrCat(one.replicas, " replica"), bench::Target::kAtMost, 1.2));
  bench::Report(bench::Alone(
      absl::StrCat("watch largest replica's polls against an even split, ", on,
                   " (", what, ")"),
      LargestShare(r), "x", bench::Target::kAtMost, 1.2));
}

int Run() {
  std::vector<Result> results;
  for (const std::string& count : absl::GetFlag(FLAGS_replicas)) {
    int replicas = 0;
    if (!absl::SimpleAtoi(count, &replicas) || replicas < 1) {
      std::fprintf(stderr, "watch_cluster: bad --replicas %s\n", count.c_str());
      return 1;
    }
    results.push_back(Measure(replicas));
    if (results.back().lag_p99_s < 0) {
      std::fprintf(stderr, "watch_cluster: the %d-replica run failed\n",
                   replicas);
      return 1;
    }
  }
  const int n = absl::GetFlag(FLAGS_accounts);
  const std::string what = absl::StrCat(
      n, " accounts, ", absl::GetFlag(FLAGS_latency_ms), " ms per answer");
  std::printf("%s, polled every %s for %s:\n", what.c_str(),
              absl::FormatDuration(absl::GetFlag(FLAGS_interval)).c_str(),
              absl::FormatDuration(absl::GetFlag(FLAGS_run)).c_str());
  for (const Result& r : results) Print(r);
  for (const Result& r : results) {
    bench::Report(bench::Alone(
        absl::StrCat("watch poll lag p99 within the interval, ", r.replicas,
                     " replica(s) on PostgreSQL (", what, ")"),
        r.lag_p99_s, "s", bench::Target::kAtMost,
        absl::ToDoubleSeconds(absl::GetFlag(FLAGS_interval))));
  }
  for (size_t i = 1; i < results.size(); ++i) {
    Report(results[0], results[i], what);
  }
  return 0;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unified::Run();
}
