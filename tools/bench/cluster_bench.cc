// Scale-out figures, side by side in one run (docs/cluster.md):
// 1. What PostgreSQL adds to a call against SQLite: GetMe latency, p50 and
//    p99, on a replica whose store is PostgreSQL (account resolution and the
//    shared rate ledger there) and on a server with SQLite (ledger in
//    memory), the two measured in alternating rounds.
// 2. GetMe throughput through HAProxy to 3 replicas against 1 (the other
//    two taken out of HAProxy's rotation), with concurrent callers: all on
//    one account, then each caller on an account (a Podio user) of its own;
//    3 and 1 alternated round by round, the ledger emptied before each.
// On 2 cores the throughput is reported, not a target: every process
// shares them.
//
//   bazel run -c opt //tools/bench:cluster_bench
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "postgresql/libpq-fe.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "tools/bench/report.h"
#include "tools/cluster/cluster.h"
#include "tools/fixture/fixture.h"
#include "tools/testing/api_key_channel.h"

ABSL_FLAG(int, calls, 1000, "GetMe calls per store, for the latencies.");
ABSL_FLAG(int, throughput_calls, 4000, "GetMe calls per throughput run.");
ABSL_FLAG(int, callers, 16, "Concurrent callers in the throughput runs.");
ABSL_FLAG(int, rounds, 3,
          "Alternated rounds of 3 replicas against 1 (each measures both).");

namespace unified {
namespace {

// Podio's limit, raised so that the runs measure the service, not the
// budget.
constexpr char kManyCalls[] = "--rate_limit=10000000";
// Every simulated user logs in with it (the many-account runs).
constexpr char kPassword[] = "bench-password";

class Caller {
 public:
  Caller(const std::string& address, const std::string& key,
         const std::string& account)
      : stub_(
            v1::UserDirectory::NewStub(testing::ApiKeyChannel(address, key))) {
    request_.set_integrated_account_id(account);
  }
  // One GetMe; false when it failed.
  bool Call() {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    v1::User me;
    const grpc::Status s = stub_->GetMe(&context, request_, &me);
    if (!s.ok()) std::fprintf(stderr, "GetMe: %s\n", s.error_message().c_str());
    return s.ok();
  }

 private:
  std::unique_ptr<v1::UserDirectory::Stub> stub_;
  v1::GetMeRequest request_;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The shared rate ledger's call log, emptied before each measurement so
// that rows left by one do not slow the next.
class Ledger {
 public:
  explicit Ledger(const std::string& url) : conn_(PQconnectdb(url.c_str())) {}
  ~Ledger() { PQfinish(conn_); }
  bool Clear() {
    PGresult* r = PQexec(conn_, "DELETE FROM rate_calls");
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) std::fprintf(stderr, "ledger: %s\n", PQerrorMessage(conn_));
    PQclear(r);
    return ok;
  }

 private:
  PGconn* conn_;
};

absl::Duration Percentile(std::vector<absl::Duration> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * (v.size() - 1))];
}

// Calls per second of `accounts.size()` threads sharing `total` calls, each
// on its account.
double Throughput(const std::string& address, const std::string& key,
                  const std::vector<std::string>& accounts, int total) {
  std::atomic<int> left{total};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  const absl::Time start = absl::Now();
  for (const std::string& account : accounts) {
    threads.emplace_back([&, account] {
      Caller caller(address, key, account);
      while (left.fetch_sub(1) > 0) {
        if (!caller.Call()) failed = true;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (failed) {
    std::fprintf(stderr, "a call failed\n");
    std::exit(1);
  }
  return total / seconds;
}

void PrintThroughput(const std::vector<double> rates[2][2], int callers,
                     int total) {
  std::printf(
      "GetMe throughput through HAProxy, %d callers, %d calls, median of %d "
      "alternated rounds:\n",
      callers, total, absl::GetFlag(FLAGS_rounds));
  std::printf("  %-22s %12s %12s %8s\n", "", "3 replicas", "1 replica",
              "ratio");
  for (int own = 0; own < 2; ++own) {
    const double three = Median(rates[1][own]), one = Median(rates[0][own]);
    const char* who = own ? "an account per caller" : "one account";
    std::printf("  %-22s %8.0f c/s %8.0f c/s %8.2f\n", who, three, one,
                three / one);
    bench::Report(bench::Versus(
        absl::StrCat("GetMe throughput, 3 replicas, ", who), three, "calls/s",
        one, "1 replica (the others out of rotation)"));
  }
  std::printf("  (2 cores shared by every process)\n");
}

// 1. Latency: alternating rounds of 50 sequential calls, after a warm-up,
// on the SQLite server and a PostgreSQL replica.
bool Latency(fixture::Fixture& sqlite, cluster::Cluster& cluster, int calls) {
  fixture::Fixture& pg = cluster.fixture();
  if (!Ledger(cluster.store_url()).Clear()) return false;
  Caller on_sqlite(sqlite.address(), sqlite.api_key(), sqlite.account());
  Caller on_postgres(pg.replica_address(0), pg.api_key(), pg.account());
  std::vector<absl::Duration> sqlite_times, postgres_times;
  for (int i = 0; i < 50; ++i) {
    if (!on_sqlite.Call() || !on_postgres.Call()) return false;
  }
  while (static_cast<int>(sqlite_times.size()) < calls) {
    for (auto [caller, times] :
         {std::make_pair(&on_sqlite, &sqlite_times),
          std::make_pair(&on_postgres, &postgres_times)}) {
      for (int i = 0; i < 50; ++i) {
        const absl::Time start = absl::Now();
        if (!caller->Call()) return false;
        times->push_back(absl::Now() - start);
      }
    }
  }
  auto ms = [](absl::Duration d) { return absl::ToDoubleMilliseconds(d); };
  const double sqlite_p50 = ms(Percentile(sqlite_times, 0.5)),
               sqlite_p99 = ms(Percentile(sqlite_times, 0.99)),
               pg_p50 = ms(Percentile(postgres_times, 0.5)),
               pg_p99 = ms(Percentile(postgres_times, 0.99));
  std::printf("GetMe latency, %d calls each (one caller):\n", calls);
  std::printf("  SQLite store, ledger in memory:  p50 %.3f ms  p99 %.3f ms\n",
              sqlite_p50, sqlite_p99);
  std::printf("  PostgreSQL store and ledger:     p50 %.3f ms  p99 %.3f ms\n",
              pg_p50, pg_p99);
  std::printf(
      "  PostgreSQL adds:                 p50 %+.3f ms  p99 %+.3f ms"
      "  (ratio p50 %.2f)\n",
      pg_p50 - sqlite_p50, pg_p99 - sqlite_p99, pg_p50 / sqlite_p50);

  bench::Report(bench::Versus("GetMe p50 on a PostgreSQL replica", pg_p50, "ms",
                              sqlite_p50, "server on SQLite"));
  bench::Report(bench::Versus("GetMe p99 on a PostgreSQL replica", pg_p99, "ms",
                              sqlite_p99, "server on SQLite"));

  return true;
}

// 2. Throughput through HAProxy: 3 replicas against 1, alternated round by
// round, each measurement on a fresh ledger; all callers on one account,
// then each on its own (simulated users 2, 3, ...: see
// tools/podio_sim/directory.cc for their addresses).
bool ThroughputRounds(cluster::Cluster& cluster) {
  fixture::Fixture& pg = cluster.fixture();
  const int total = absl::GetFlag(FLAGS_throughput_calls);
  const int callers = absl::GetFlag(FLAGS_callers);
  const std::string lb = cluster.address();
  const std::vector<std::string> one_account(callers, pg.account());
  std::vector<std::string> own_accounts;
  for (int i = 0; i < callers; ++i) {
    absl::StatusOr<std::string> account = pg.LinkPassword(
        absl::StrCat("user", i + 2, "@org1.example.com"), kPassword);
    if (!account.ok()) {
      std::fprintf(stderr, "%s\n", account.status().ToString().c_str());
      return false;
    }
    own_accounts.push_back(*account);
  }
  Ledger ledger(cluster.store_url());
  if (!ledger.Clear()) return false;
  (void)Throughput(lb, pg.api_key(), one_account, 200);  // Warm.
  (void)Throughput(lb, pg.api_key(), own_accounts, 200);
  // [replicas == 3][own accounts]
  std::vector<double> rates[2][2];
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    for (int k = 0; k < 2; ++k) {
      const bool three = (round + k) % 2 == 0;
      for (int i : {1, 2}) {
        if (absl::Status s = cluster.SetInRotation(i, three); !s.ok()) {
          std::fprintf(stderr, "%s\n", s.ToString().c_str());
          return false;
        }
      }
      for (int own = 0; own < 2; ++own) {
        if (!ledger.Clear()) return false;
        rates[three][own].push_back(Throughput(
            lb, pg.api_key(), own ? own_accounts : one_account, total));
      }
    }
  }
  PrintThroughput(rates, callers, total);
  return true;
}

int Run() {
  const int calls = absl::GetFlag(FLAGS_calls);
  fixture::FixtureOptions sqlite_options;
  sqlite_options.users = 50;
  sqlite_options.sim_flags = {kManyCalls};
  absl::StatusOr<std::unique_ptr<fixture::Fixture>> sqlite =
      fixture::Fixture::Start(sqlite_options);
  if (!sqlite.ok()) {
    std::fprintf(stderr, "%s\n", sqlite.status().ToString().c_str());
    return 1;
  }
  cluster::ClusterOptions cluster_options;
  cluster_options.replicas = 3;
  cluster_options.fixture.users = 50;
  cluster_options.fixture.sim_flags = {
      kManyCalls, absl::StrCat("--user_password=", kPassword)};
  absl::StatusOr<std::unique_ptr<cluster::Cluster>> cluster =
      cluster::Cluster::Start(cluster_options);
  if (!cluster.ok()) {
    std::fprintf(stderr, "%s\n", cluster.status().ToString().c_str());
    return 1;
  }
  fixture::Fixture& pg = (*cluster)->fixture();

  if (!Latency(**sqlite, **cluster, calls)) return 1;
  if (!ThroughputRounds(**cluster)) return 1;
  return 0;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unified::Run();
}
