// Fault injection for the simulator: rules matched by method and path pattern,
// set at start-up (--faults) or through the admin API.
#ifndef TOOLS_PODIO_SIM_FAULTS_H_
#define TOOLS_PODIO_SIM_FAULTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace unified::podio_sim {

enum class FaultKind {
  kLatency,        // Delay the answer by `latency` (+ up to `jitter`).
  kStatus,         // Answer `status` (5xx) with Podio's error envelope.
  kRateLimit,      // Answer 420 rate_limit.
  kUnauthorized,   // Answer 401 expired_token, as for a revoked token.
  kReset,          // Drop the connection without an answer.
  kTruncate,       // Send headers and half the body, then drop.
  kMalformedJson,  // 200 with a body that is not JSON.
  kInvalidUtf8,    // 200 with JSON whose strings hold invalid UTF-8.
  kSlowBody,       // Send the body in small pieces, `chunk_delay` apart.
};

struct FaultRule {
  int64_t id = 0;
  std::string method;  // "GET", ...; empty matches any.
  std::string path;    // Glob: '*' matches any run of characters.
  FaultKind kind = FaultKind::kStatus;
  int64_t skip = 0;    // Let this many matching calls pass first.
  int64_t times = -1;  // Then fault this many (-1: every one after).
  absl::Duration latency;
  absl::Duration jitter;
  int status = 500;
  // rate_limit: the wait named in "Please wait N seconds".
  absl::Duration wait = absl::Seconds(300);
  absl::Duration chunk_delay = absl::Milliseconds(100);
  int64_t seen = 0;  // Matching calls so far.
};

// Parses one rule from JSON, e.g.
// {"method":"GET","path":"/org/*/member/","kind":"status","status":503,
//  "skip":2,"times":1,"latency_ms":50,"jitter_ms":10,"chunk_delay_ms":100,
//  "wait_seconds":300}.
// kind: latency|status|rate_limit|unauthorized|reset|truncate|
//       malformed_json|invalid_utf8|slow_body.
absl::StatusOr<FaultRule> ParseFaultRule(const std::string& json);
// Parses a JSON array of rules.
absl::StatusOr<std::vector<FaultRule>> ParseFaultRules(const std::string& json);

std::string FaultKindName(FaultKind kind);

// Whether `path` matches glob `pattern` ('*' = any run of characters).
bool GlobMatch(const std::string& pattern, const std::string& path);

// Thread-safe rule set.
class FaultInjector {
 public:
  // Adds a rule; returns its id.
  int64_t Add(FaultRule rule);
  void Clear();
  std::vector<FaultRule> List() const;

  // The faults to apply to this call: at most one latency rule plus at most
  // one other rule (the first that matches and is due), in rule order.
  struct Applied {
    std::optional<FaultRule> latency;
    std::optional<FaultRule> fault;
  };
  Applied Match(const std::string& method, const std::string& path);

 private:
  mutable absl::Mutex mu_;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::vector<FaultRule> rules_ ABSL_GUARDED_BY(mu_);
};

}  // namespace unified::podio_sim

#endif  // TOOLS_PODIO_SIM_FAULTS_H_
