// Benchmark: is the Podio simulator ever the bottleneck?
//
// Serves a 1,000,000-user organization and fetches pages of 500 members
// (GET /org/{id}/member/?limit=500) over one kept-alive connection, alternating
// pages from the start and from the end of the listing so both are measured
// side by side in one run. Reports pages/s and users/s, and the ratio of
// end-page to start-page time (about 1.0 when a page costs time in proportion
// to the page, not to the data), then the same with 4 concurrent clients.
//
//   bazel run -c opt //tools/bench:sim_pages [-- --users=1000000 --pages=200]
#include <algorithm>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "connectors/common/http_client.h"
#include "rapidjson/document.h"
#include "tools/bench/report.h"
#include "tools/podio_sim/sim_client.h"
#include "tools/podio_sim/simulator.h"

ABSL_FLAG(int, users, 1000000, "Users in the one organization.");
ABSL_FLAG(int, pages, 200, "Pages fetched from each end of the listing.");
ABSL_FLAG(int, limit, 500, "Page size.");
ABSL_FLAG(int, clients, 4, "Concurrent clients in the second phase.");
ABSL_FLAG(bool, gzip, true,
          "Ask for gzip, as the service does (the wire it reads); --nogzip "
          "measures plain pages.");

namespace unified::podio_sim {
namespace {

struct Fetcher {
  std::unique_ptr<HttpClient> http = NewCurlHttpClient({});
  std::string base;
  std::string token;
  int64_t org_id;
  int limit;

  // Fetches one page; returns its wall time, or a negative duration on error.
  absl::Duration Page(int64_t offset) {
    HttpRequest request;
    request.url = absl::StrCat(base, "/org/", org_id, "/member/?limit=", limit,
                               "&offset=", offset);
    request.headers = {{"Authorization", "OAuth2 " + token}};
    if (absl::GetFlag(FLAGS_gzip)) {
      request.headers.emplace_back("Accept-Encoding", "gzip");
    }
    const absl::Time start = absl::Now();
    absl::StatusOr<HttpResponse> r = http->Send(request);
    const absl::Duration took = absl::Now() - start;
    if (!r.ok() || r->status != 200) {
      std::fprintf(stderr, "page at %lld failed: %s\n",
                   static_cast<long long>(offset),
                   r.ok() ? r->body.substr(0, 200).c_str()
                          : r.status().ToString().c_str());
      return -absl::Seconds(1);
    }
    return took;
  }
};

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[static_cast<size_t>(p * (v.size() - 1))];
}

// Bytes on the wire of the same page, as sent: plain ([0]) and gzip ([1]).
bool WireBytes(Fetcher& fetcher, int limit, size_t wire_bytes[2]) {
  for (int gzip = 0; gzip < 2; ++gzip) {
    HttpRequest request;
    request.url = absl::StrCat(fetcher.base, "/org/", fetcher.org_id,
                               "/member/?limit=", limit, "&offset=0");
    request.headers = {{"Authorization", "OAuth2 " + fetcher.token}};
    if (gzip) request.headers.emplace_back("Accept-Encoding", "gzip");
    request.decode_content = false;
    absl::StatusOr<HttpResponse> r = fetcher.http->Send(request);
    if (!r.ok() || r->status != 200) return false;
    wire_bytes[gzip] = r->body.size();
  }
  return true;
}

// Pages read by `clients` clients at once, `pages` each.
int ConcurrentPages(const Fetcher& fetcher, int clients, int pages, int limit,
                    int64_t members) {
  std::vector<std::thread> threads;
  std::vector<int> ok(clients, 0);
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      Fetcher f = {NewCurlHttpClient({}), fetcher.base, fetcher.token,
                   fetcher.org_id, limit};
      for (int i = 0; i < pages; ++i) {
        const int64_t offset =
            (static_cast<int64_t>(i) * clients + c) * limit % members;
        if (f.Page(offset) >= absl::ZeroDuration()) ++ok[c];
      }
    });
  }
  for (std::thread& t : threads) t.join();
  int concurrent_pages = 0;
  for (int n : ok) concurrent_pages += n;
  return concurrent_pages;
}

// What Run measured.
struct Results {
  int64_t members;
  int limit;
  int pages;
  int clients;
  absl::Duration generation;
  size_t wire_bytes[2];
  std::vector<double> start_ms, end_ms;
  double start_total, end_total;
  int concurrent_pages;
  double concurrent_s;
};

void Print(const Results& r) {
  std::printf(
      "simulator page benchmark: %lld members in one organization, "
      "pages of %d, %s\n",
      static_cast<long long>(r.members), r.limit,
      absl::GetFlag(FLAGS_gzip) ? "gzip (as the service asks)" : "plain");
  std::printf("  data generation            %.2f s\n",
              absl::ToDoubleSeconds(r.generation));
  std::printf("  bytes per page of %d       %zu plain, %zu gzip (ratio %.3f)\n",
              r.limit, r.wire_bytes[0], r.wire_bytes[1],
              static_cast<double>(r.wire_bytes[1]) /
                  static_cast<double>(std::max<size_t>(1, r.wire_bytes[0])));
  std::printf(
      "  pages at the start         %.0f pages/s, %.0f users/s, "
      "p50 %.2f ms, p99 %.2f ms\n",
      r.pages / (r.start_total / 1000),
      r.pages * r.limit / (r.start_total / 1000), Percentile(r.start_ms, 0.5),
      Percentile(r.start_ms, 0.99));
  std::printf(
      "  pages at the end           %.0f pages/s, %.0f users/s, "
      "p50 %.2f ms, p99 %.2f ms\n",
      r.pages / (r.end_total / 1000), r.pages * r.limit / (r.end_total / 1000),
      Percentile(r.end_ms, 0.5), Percentile(r.end_ms, 0.99));
  std::printf(
      "  end/start time ratio       %.2f (1.0 = cost independent of "
      "position)\n",
      r.end_total / r.start_total);
  std::printf("  %d concurrent clients       %.0f pages/s, %.0f users/s\n",
              r.clients, r.concurrent_pages / r.concurrent_s,
              r.concurrent_pages * r.limit / r.concurrent_s);
  const std::string wire = absl::GetFlag(FLAGS_gzip) ? "gzip" : "plain";
  bench::Report(
      bench::Alone(absl::StrCat("sim_pages: pages/s at the start, ", wire),
                   r.pages / (r.start_total / 1000), "pages/s"));
  bench::Report(bench::Versus(
      absl::StrCat("sim_pages: time at the end / at the start, ", wire),
      r.end_total, "ms", r.start_total, "the same count of pages at the start",
      bench::Target::kAtMost, 1.2));
  bench::Report(
      bench::Alone(absl::StrCat("sim_pages: ", r.clients, " clients, ", wire),
                   r.concurrent_pages / r.concurrent_s, "pages/s"));
  bench::Report(bench::Versus(
      absl::StrCat("sim_pages: bytes of a page of ", r.limit, ", gzip"),
      static_cast<double>(r.wire_bytes[1]), "bytes",
      static_cast<double>(r.wire_bytes[0]), "the same page plain"));
}

int Run() {
  SimulatorOptions options;
  options.data.users = absl::GetFlag(FLAGS_users);
  options.data.orgs = 1;
  options.data.spaces_per_org = 3;
  options.rate.limit = 1LL << 40;  // Measure serving, not the rate limiter.
  options.threads = 8;
  const absl::Time gen_start = absl::Now();
  auto sim = Simulator::Start(options);
  if (!sim.ok()) {
    std::fprintf(stderr, "%s\n", sim.status().ToString().c_str());
    return 1;
  }
  const absl::Duration generation = absl::Now() - gen_start;

  Fetcher fetcher;
  fetcher.base = (*sim)->base_url();
  fetcher.org_id = kFirstOrgId;
  fetcher.limit = absl::GetFlag(FLAGS_limit);
  {
    absl::StatusOr<std::string> token =
        PasswordGrantToken(*fetcher.http, fetcher.base);
    if (!token.ok()) return 1;
    fetcher.token = *token;
  }
  int64_t members = 0;
  (*sim)->ReadDirectory([&](const Directory& d) {
    members = static_cast<int64_t>(d.FindOrg(kFirstOrgId)->member_order.size());
  });

  const int pages = absl::GetFlag(FLAGS_pages);
  const int limit = fetcher.limit;
  fetcher.Page(0);  // Warm the connection.

  size_t wire_bytes[2] = {0, 0};
  if (!WireBytes(fetcher, limit, wire_bytes)) return 1;
  std::vector<double> start_ms, end_ms;
  for (int i = 0; i < pages; ++i) {
    const absl::Duration a = fetcher.Page(static_cast<int64_t>(i) * limit);
    const absl::Duration b =
        fetcher.Page(members - static_cast<int64_t>(i + 1) * limit);
    if (a < absl::ZeroDuration() || b < absl::ZeroDuration()) return 1;
    start_ms.push_back(absl::ToDoubleMilliseconds(a));
    end_ms.push_back(absl::ToDoubleMilliseconds(b));
  }
  double start_total = 0, end_total = 0;
  for (double v : start_ms) start_total += v;
  for (double v : end_ms) end_total += v;

  const int clients = absl::GetFlag(FLAGS_clients);
  const absl::Time concurrent_start = absl::Now();
  const int concurrent_pages =
      ConcurrentPages(fetcher, clients, pages, limit, members);
  const double concurrent_s =
      absl::ToDoubleSeconds(absl::Now() - concurrent_start);
  if (concurrent_pages != clients * pages) return 1;
  Results r{members,
            limit,
            pages,
            clients,
            generation,
            {wire_bytes[0], wire_bytes[1]},
            start_ms,
            end_ms,
            start_total,
            end_total,
            concurrent_pages,
            concurrent_s};
  Print(r);
  return 0;
}

}  // namespace
}  // namespace unified::podio_sim

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unified::podio_sim::Run();
}
