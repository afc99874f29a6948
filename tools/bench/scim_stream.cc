// A SCIM stream with and without reading ahead: the users of a SCIM
// directory read through the connector's stream (IterateUsers: the listing
// driver reads the pages it can name ahead), against the same listing read
// one List call after another, as a stream read before SCIM listings had a
// pager (connectors/connector.h, PagedIterator). Both run side by side in
// this one process, alternately, against one in-process SCIM simulator
// answering each request after `latency_ms`, and must read the same users in
// the same order. Also reported: the requests each made, against the
// minimum (one per page), and the calls read ahead in vain.
//
//   bazel run -c opt //tools/bench:scim_stream [-- --users=1000]
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "connectors/common/clock.h"
#include "connectors/common/http_client.h"
#include "connectors/common/request_pipeline.h"
#include "connectors/scim/scim_connector.h"
#include "tools/bench/report.h"
#include "tools/scim_sim/scim_sim.h"

ABSL_FLAG(int, users, 1000, "Users in the directory.");
ABSL_FLAG(int, latency_ms, 50, "Simulated latency per SCIM request.");
ABSL_FLAG(int, page, 100, "Users per page (the provider's maxResults too).");
ABSL_FLAG(int, rounds, 3, "Alternating rounds of each contender.");

namespace unified {
namespace {

class StaticToken final : public TokenSource {
 public:
  absl::StatusOr<std::string> AccessToken(absl::Time) override {
    return std::string("scim-demo-token");
  }
  absl::StatusOr<std::string> Refresh(const std::string&, absl::Time) override {
    return absl::UnauthenticatedError("a static token cannot be refreshed");
  }
};

struct Run {
  absl::Duration time;
  std::vector<std::string> ids;
  int64_t requests = 0;
  int64_t wasted = 0;
  absl::Status status;
};

Run Drain(PageIterator<v1::User>& pages) {
  Run run;
  Page<v1::User> page;
  while (pages.Next(&page)) {
    for (const v1::User& u : page.items) run.ids.push_back(u.id());
  }
  run.status = pages.status();
  run.wasted = pages.wasted_calls();
  return run;
}

// The SCIM connector on the production pipeline against one simulator,
// listing every user by its stream or one List call per page.
class Contenders {
 public:
  Contenders(scim_sim::ScimSimulator* sim, int page_size)
      : sim_(sim),
        http_(NewCurlHttpClient({})),
        async_(NewCurlMultiClient({})),
        pipeline_(http_.get(), RealClock::Get(), &protocol_,
                  PipelineOptions(sim->base_url()), async_.get()),
        connector_(scim::NewScimConnector(&pipeline_)) {
    ctx_.tokens = &tokens_;
    start_.limit = page_size;
  }

  Run Timed(bool ahead) {
    const int64_t before = sim_->requests();
    const absl::Time t0 = absl::Now();
    std::unique_ptr<PageIterator<v1::User>> pages;
    if (ahead) {
      pages = connector_->IterateUsers(ctx_, UserFilter(), start_);
    } else {
      pages = std::make_unique<PagedIterator<v1::User>>(
          [this](const PageRequest& page) {
            return connector_->ListUsers(ctx_, UserFilter(), page);
          },
          start_);
    }
    Run run = Drain(*pages);
    run.time = absl::Now() - t0;
    run.requests = sim_->requests() - before;
    return run;
  }

 private:
  static RequestPipelineOptions PipelineOptions(const std::string& base) {
    RequestPipelineOptions options;
    options.api_base = base;
    options.accept = "application/scim+json";
    return options;
  }

  scim_sim::ScimSimulator* const sim_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<AsyncHttpClient> async_;
  scim::ScimProtocol protocol_;
  RequestPipeline pipeline_;
  std::unique_ptr<DirectoryConnector> connector_;
  StaticToken tokens_;
  CallContext ctx_;
  PageRequest start_;
};

int Main() {
  scim_sim::ScimSimOptions sim_options;
  sim_options.users = absl::GetFlag(FLAGS_users);
  sim_options.max_results = absl::GetFlag(FLAGS_page);
  sim_options.rate_limit = 1000000;
  sim_options.latency = absl::Milliseconds(absl::GetFlag(FLAGS_latency_ms));
  auto sim = scim_sim::ScimSimulator::Start(sim_options);
  if (!sim.ok()) {
    std::fprintf(stderr, "simulator: %s\n", sim.status().ToString().c_str());
    return 1;
  }
  PageRequest start;
  start.limit = absl::GetFlag(FLAGS_page);
  Contenders contenders(sim->get(), start.limit);
  auto timed = [&contenders](bool ahead) { return contenders.Timed(ahead); };
  timed(true);  // Warm: ServiceProviderConfig, connections.
  absl::Duration stream_total, loop_total;
  Run stream, loop;
  const int rounds = absl::GetFlag(FLAGS_rounds);
  for (int i = 0; i < rounds; ++i) {
    stream = timed(true);
    loop = timed(false);
    if (!stream.status.ok() || !loop.status.ok() || stream.ids != loop.ids ||
        static_cast<int>(stream.ids.size()) != sim_options.users) {
      std::fprintf(
          stderr, "the contenders disagree: %s / %s, %zu / %zu users\n",
          stream.status.ToString().c_str(), loop.status.ToString().c_str(),
          stream.ids.size(), loop.ids.size());
      return 1;
    }
    stream_total += stream.time;
    loop_total += loop.time;
  }
  const int64_t pages = (sim_options.users + start.limit - 1) / start.limit;
  std::printf(
      "scim_stream: %d users, %lld pages of %d, %d ms per request, %d rounds\n"
      "  stream (read ahead)   %8.1f ms  %lld requests, %lld wasted\n"
      "  one List per page     %8.1f ms  %lld requests\n"
      "  speed-up              %8.2fx\n",
      sim_options.users, static_cast<long long>(pages), start.limit,
      absl::GetFlag(FLAGS_latency_ms), rounds,
      absl::ToDoubleMilliseconds(stream_total) / rounds,
      static_cast<long long>(stream.requests),
      static_cast<long long>(stream.wasted),
      absl::ToDoubleMilliseconds(loop_total) / rounds,
      static_cast<long long>(loop.requests),
      absl::FDivDuration(loop_total, stream_total));
  bench::Report(bench::Versus("SCIM stream reading ahead",
                              absl::ToDoubleMilliseconds(stream_total) / rounds,
                              "ms",
                              absl::ToDoubleMilliseconds(loop_total) / rounds,
                              "one List call per page"));
  bench::Report(bench::Alone("SCIM stream: requests read ahead in vain",
                             static_cast<double>(stream.wasted), "requests"));
  return 0;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unified::Main();
}
