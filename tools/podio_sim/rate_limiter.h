// Podio's rate limits (docs/podio.md §5): per user or app and API client, a
// general budget (1,000 calls an hour) and a smaller one (250 an hour) for the
// operations marked "rate limited". Once a budget is spent every call it
// covers answers 420 until its window frees. Windows are fixed: one starts at
// the first call after the previous one ended (Podio exposes no reset time).
// Thread-safe; time is the simulated clock's.
#ifndef TOOLS_PODIO_SIM_RATE_LIMITER_H_
#define TOOLS_PODIO_SIM_RATE_LIMITER_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace unified::podio_sim {

struct RateLimitOptions {
  int64_t limit = 1000;            // General calls per window.
  int64_t restricted_limit = 250;  // "Rate limited" operations per window.
  // Token requests per window, per API client and principal: Podio's token
  // endpoint throttles on its own (its one recorded 420 came with 4,832 of
  // 5,000 API calls left); the real figure is unknown.
  int64_t token_limit = 100;
  absl::Duration window = absl::Hours(1);
};

class RateLimiter {
 public:
  struct Decision {
    bool allowed = true;
    int64_t limit = 0;      // X-Rate-Limit-Limit: ceiling for this call.
    int64_t remaining = 0;  // X-Rate-Limit-Remaining after this call.
    absl::Duration wait;    // Until the blocking window frees (when denied).
  };

  explicit RateLimiter(RateLimitOptions options) : options_(options) {}

  // Counts one call of `key` (restricted calls count against both budgets)
  // and says whether it may proceed.
  Decision Charge(const std::string& key, bool restricted, absl::Time now);

  // The general budget of `key` as it stands, without counting a call.
  Decision Peek(const std::string& key, absl::Time now) const;

  // Counts one token request of `key` (client and principal) against the
  // token endpoint's own throttle. `limit` and `remaining` are the throttle's.
  Decision ChargeToken(const std::string& key, absl::Time now);

  const RateLimitOptions& options() const { return options_; }

 private:
  struct Window {
    absl::Time start = absl::InfinitePast();
    int64_t used = 0;
  };
  void Roll(Window& window, absl::Time now) const;
  // A window as it stands at `now` (a lapsed one reads as empty).
  int64_t Used(const Window& window, absl::Time now) const;

  const RateLimitOptions options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Window> general_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Window> restricted_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Window> token_ ABSL_GUARDED_BY(mu_);
};

}  // namespace unified::podio_sim

#endif  // TOOLS_PODIO_SIM_RATE_LIMITER_H_
