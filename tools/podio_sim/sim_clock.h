// The simulator's clock: simulated time that starts at a fixed instant and
// moves when told (admin API), so token expiry and rate windows are tested
// without sleeping. With `real_time` it also moves with the real clock, for
// tests whose other processes keep real time (a cluster's rate windows).
#ifndef TOOLS_PODIO_SIM_SIM_CLOCK_H_
#define TOOLS_PODIO_SIM_SIM_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace unified::podio_sim {

// Thread-safe.
class SimClock {
 public:
  explicit SimClock(absl::Time start, bool real_time = false)
      : now_(start), real_start_(real_time ? absl::Now() : absl::Time()) {}

  absl::Time Now() const {
    absl::MutexLock lock(&mu_);
    if (real_start_ == absl::Time()) return now_;
    return now_ + (absl::Now() - real_start_);
  }

  // Moves time forward by `delta` (negative deltas are ignored: time never
  // runs backwards). Returns the new time.
  absl::Time Advance(absl::Duration delta) {
    {
      absl::MutexLock lock(&mu_);
      if (delta > absl::ZeroDuration()) now_ += delta;
    }
    return Now();
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_;
  const absl::Time real_start_;  // The epoch when not real time.
};

// Podio's datetime format: "YYYY-MM-DD HH:MM:SS", always UTC.
inline std::string PodioDateTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", t, absl::UTCTimeZone());
}

}  // namespace unified::podio_sim

#endif  // TOOLS_PODIO_SIM_SIM_CLOCK_H_
