#include "tools/podio_sim/rate_limiter.h"

#include <algorithm>

namespace unified::podio_sim {

void RateLimiter::Roll(Window& window, absl::Time now) const {
  if (now >= window.start + options_.window) {
    window.start = now;
    window.used = 0;
  }
}

RateLimiter::Decision RateLimiter::Charge(const std::string& key,
                                          bool restricted, absl::Time now) {
  absl::MutexLock lock(&mu_);
  Window& general = general_[key];
  Roll(general, now);
  Decision decision;
  if (general.used >= options_.limit) {
    decision.allowed = false;
    decision.limit = restricted ? options_.restricted_limit : options_.limit;
    decision.remaining = 0;
    decision.wait = general.start + options_.window - now;
    return decision;
  }
  if (restricted) {
    Window& small = restricted_[key];
    Roll(small, now);
    decision.limit = options_.restricted_limit;
    if (small.used >= options_.restricted_limit) {
      decision.allowed = false;
      decision.remaining = 0;
      decision.wait = small.start + options_.window - now;
      return decision;
    }
    ++small.used;
    ++general.used;
    decision.remaining = options_.restricted_limit - small.used;
    return decision;
  }
  ++general.used;
  decision.limit = options_.limit;
  decision.remaining = options_.limit - general.used;
  return decision;
}

int64_t RateLimiter::Used(const Window& window, absl::Time now) const {
  return now >= window.start + options_.window ? 0 : window.used;
}

RateLimiter::Decision RateLimiter::Peek(const std::string& key,
                                        absl::Time now) const {
  absl::MutexLock lock(&mu_);
  Decision decision;
  decision.limit = options_.limit;
  auto it = general_.find(key);
  const int64_t used = it == general_.end() ? 0 : Used(it->second, now);
  decision.remaining = std::max<int64_t>(0, options_.limit - used);
  return decision;
}

RateLimiter::Decision RateLimiter::ChargeToken(const std::string& key,
                                               absl::Time now) {
  absl::MutexLock lock(&mu_);
  Window& window = token_[key];
  Roll(window, now);
  Decision decision;
  decision.limit = options_.token_limit;
  if (window.used >= options_.token_limit) {
    decision.allowed = false;
    decision.wait = window.start + options_.window - now;
    return decision;
  }
  ++window.used;
  decision.remaining = options_.token_limit - window.used;
  return decision;
}

}  // namespace unified::podio_sim
