// Benchmark 1 of the directory: StreamUsers over 100,000 users with 50 ms of
// simulated Podio latency per page, against a plain libcurl loop fetching the
// same upstream pages one after another. Both run side by side in this one
// process, alternately, against one in-process simulator, and must read the
// same users in the same order. Also benchmark 5: the Podio calls a stream
// makes per listing against the minimum (the loop's), and the calls it read
// ahead in vain (its x-upstream-calls-wasted trailer).
//
//   bazel run -c opt //tools/bench:stream_vs_loop [-- --users=100000]
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "connectors/common/http_client.h"
#include "rapidjson/document.h"
#include "tools/bench/in_process_directory.h"
#include "tools/podio_sim/sim_client.h"
#include "tools/podio_sim/simulator.h"

ABSL_FLAG(int, users, 100000, "Users in the one organization.");
ABSL_FLAG(int, latency_ms, 50, "Simulated Podio latency per member page.");
ABSL_FLAG(int, rounds, 2, "Alternating rounds of each contender.");
ABSL_FLAG(bool, counts, true,
          "The simulator's organizations carry member_count (recorded real "
          "answers do not: --nocounts).");

namespace unified {
namespace {

int Run() {
  podio_sim::SimulatorOptions sim_options = bench::LatentSimulator(
      absl::GetFlag(FLAGS_users),
      absl::Milliseconds(absl::GetFlag(FLAGS_latency_ms)), {"/org/*/member/"});
  sim_options.documented_fields = absl::GetFlag(FLAGS_counts);
  auto sim = podio_sim::Simulator::Start(sim_options);
  if (!sim.ok()) return 1;
  const std::string base = (*sim)->base_url();

  // The service, wired as main.cc wires it.
  absl::StatusOr<std::unique_ptr<bench::InProcessDirectory>> directory =
      bench::InProcessDirectory::Start(base);
  if (!directory.ok()) return 1;
  v1::UserDirectory::Stub* stub = &(*directory)->stub();
  HttpClient* http = &(*directory)->http();
  const std::string token = (*directory)->token();

  // One listing's time, users, Podio member pages asked and calls wasted.
  struct Run {
    absl::Duration time;
    std::vector<std::string> ids;
    int64_t pages = 0;
    int64_t wasted = 0;
  };
  auto member_pages = [&](int64_t since) {
    int64_t n = 0;
    for (const auto& r : (*sim)->request_log().Since(since)) {
      n += podio_sim::GlobMatch("/org/*/member/", r.path) ? 1 : 0;
    }
    return n;
  };
  auto stream = [&]() -> std::optional<Run> {
    const int64_t since = (*sim)->request_log().next_seq();
    Run run;
    const absl::Time start = absl::Now();
    grpc::ClientContext context;
    v1::ListUsersRequest request;
    request.set_integrated_account_id("acct");
    request.set_limit(500);
    auto reader = stub->StreamUsers(&context, request);
    v1::ListUsersResponse message;
    while (reader->Read(&message)) {
      for (const v1::User& user : message.result())
        run.ids.push_back(user.id());
    }
    if (!reader->Finish().ok()) return std::nullopt;
    run.time = absl::Now() - start;
    run.pages = member_pages(since);
    auto wasted =
        context.GetServerTrailingMetadata().find("x-upstream-calls-wasted");
    if (wasted == context.GetServerTrailingMetadata().end() ||
        !absl::SimpleAtoi(
            absl::string_view(wasted->second.data(), wasted->second.size()),
            &run.wasted)) {
      return std::nullopt;
    }
    return run;
  };
  auto loop = [&]() -> std::optional<Run> {
    const int64_t since = (*sim)->request_log().next_seq();
    Run run;
    const absl::Time start = absl::Now();
    for (int64_t offset = 0;; offset += 500) {
      HttpRequest request;
      request.url =
          absl::StrCat(base, "/org/", podio_sim::kFirstOrgId,
                       "/member/?limit=500&offset=", offset, "&sort_by=name");
      request.headers = {{"Authorization", "OAuth2 " + token}};
      auto r = http->Send(request);
      if (!r.ok() || r->status != 200) return std::nullopt;
      rapidjson::Document page;
      page.Parse(r->body.c_str());
      if (!page.IsArray()) return std::nullopt;
      for (const rapidjson::Value& member : page.GetArray()) {
        const rapidjson::Value& user = member["user"];
        run.ids.push_back(absl::StrCat(user["user_id"].GetInt64()));
      }
      if (page.Size() < 500) break;
    }
    run.time = absl::Now() - start;
    run.pages = member_pages(since);
    return run;
  };

  absl::Duration stream_total, loop_total;
  std::optional<Run> last_stream, last_loop;
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    last_loop = loop();
    last_stream = stream();
    if (!last_loop || !last_stream) return 1;
    if (last_stream->ids != last_loop->ids) {
      std::printf("the stream and the loop read different users\n");
      return 1;
    }
    loop_total += last_loop->time;
    stream_total += last_stream->time;
    std::printf("  round %d: loop %.2f s, stream %.2f s\n", round + 1,
                absl::ToDoubleSeconds(last_loop->time),
                absl::ToDoubleSeconds(last_stream->time));
  }
  std::printf(
      "stream vs loop: %zu users, the same in both, %d ms per page\n"
      "  sequential libcurl loop   %.2f s per listing\n"
      "  StreamUsers               %.2f s per listing\n"
      "  time ratio stream/loop    %.2f (target <= 0.15)\n"
      "B5 Podio member pages per listing: stream %lld, minimum %lld; "
      "read ahead in vain %lld (bound 2)\n",
      last_stream->ids.size(), absl::GetFlag(FLAGS_latency_ms),
      absl::ToDoubleSeconds(loop_total) / absl::GetFlag(FLAGS_rounds),
      absl::ToDoubleSeconds(stream_total) / absl::GetFlag(FLAGS_rounds),
      absl::ToDoubleSeconds(stream_total) / absl::ToDoubleSeconds(loop_total),
      static_cast<long long>(last_stream->pages),
      static_cast<long long>(last_loop->pages),
      static_cast<long long>(last_stream->wasted));
  return 0;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unified::Run();
}
