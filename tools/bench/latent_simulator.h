// The Podio simulator of the latency benchmarks: one organization, no rate
// limit of its own, and a fixed latency on chosen routes.
#ifndef TOOLS_BENCH_LATENT_SIMULATOR_H_
#define TOOLS_BENCH_LATENT_SIMULATOR_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tools/podio_sim/simulator.h"

namespace unified::bench {

// A simulator of one organization of `users`, unlimited rate, 64 threads
// (cpp-httplib holds one per kept-alive connection: the baseline's, the
// service's and every page in flight), and `latency` on every request whose
// path matches one of `paths` (globs).
inline podio_sim::SimulatorOptions LatentSimulator(
    int users, absl::Duration latency, const std::vector<std::string>& paths) {
  podio_sim::SimulatorOptions options;
  options.data.users = users;
  options.data.orgs = 1;
  options.rate.limit = 1LL << 40;
  options.rate.restricted_limit = 1LL << 40;
  options.threads = 64;
  for (const std::string& path : paths) {
    podio_sim::FaultRule rule;
    rule.path = path;
    rule.kind = podio_sim::FaultKind::kLatency;
    rule.latency = latency;
    options.faults.push_back(rule);
  }
  return options;
}

}  // namespace unified::bench

#endif  // TOOLS_BENCH_LATENT_SIMULATOR_H_
