// How long a roster change takes to reach a watching stream, through a
// Podio hook and by the reconciliation poll, for benchmarks that watch many
// accounts against the simulator (tools/bench/watch_scale.cc).
//
// Samples are accounts the benchmark links and watches, named by the mail
// of their simulated user. A hooked sample is made admin of one workspace
// before it is linked (Podio gives hooks to space admins only), so its
// watch registers hooks there; a polled sample is an ordinary member, whose
// changes only its poll finds. For each sample, a stream is opened on its
// account (snapshot first, so the stream is known to be live), an
// organization member is added to the sample's workspace as the directory's
// administrator, and the delay runs from just before that write is sent to
// the arrival of its MEMBER_ADDED on the stream.
#ifndef TOOLS_BENCH_CHANGE_DELAY_H_
#define TOOLS_BENCH_CHANGE_DELAY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/common/http_client.h"
#include "grpcpp/channel.h"
#include "tools/podio_sim/simulator.h"

namespace unified::bench {

struct ChangeSample {
  std::string mail;     // The sample's simulated user.
  bool hooked = false;  // Admin of `space_id`: changes there come by hook.
  int64_t user_id = 0;
  int64_t space_id = 0;  // Where the change is made.
  int64_t newcomer = 0;  // The org member the change adds to it.
  int candidate = 0;     // Its place among the candidates given.
  std::string account;   // Set by the benchmark once linked.
};

// Takes the first `hooked` of `candidates` (mails) that are active members
// of a workspace as hooked samples, and the next `polled` as polled ones;
// chooses each one's workspace and newcomer, and makes each hooked sample
// admin of its workspace through `http` with the administrator's
// `admin_token`. Call before linking them.
absl::StatusOr<std::vector<ChangeSample>> PrepareChangeSamples(
    podio_sim::Simulator& sim, HttpClient& http, const std::string& admin_token,
    const std::vector<std::string>& candidates, int hooked, int polled);

struct ChangeDelay {
  bool hooked = false;
  // From the write to the event's arrival; `wait` when it did not arrive.
  absl::Duration delay;
  bool arrived = false;
  int source = 0;  // v1::DirectoryEvent::Source of the event.
};

// Makes every sample's change at once, each watched on a stream of its own
// over `channel` (the tenant's, per sample: `channels[i]`), and waits up to
// `wait` for each event.
std::vector<ChangeDelay> MeasureChangeDelays(
    const std::vector<ChangeSample>& samples,
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    HttpClient& http, const std::string& sim_url,
    const std::string& admin_token, absl::Duration wait);

}  // namespace unified::bench

#endif  // TOOLS_BENCH_CHANGE_DELAY_H_
