// The time seam: production waits on the real clock; tests inject a fake so
// that they never sleep.
#ifndef CONNECTORS_COMMON_CLOCK_H_
#define CONNECTORS_COMMON_CLOCK_H_

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace unified {

// Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;
  // Waits until `until`, returning early (false) once `cancelled` says so;
  // true when the time was reached.
  virtual bool SleepUntil(absl::Time until,
                          const std::function<bool()>& cancelled) = 0;
};

// The real clock; waits in slices of at most 50 ms to notice cancellation.
class RealClock final : public Clock {
 public:
  absl::Time Now() override { return absl::Now(); }
  bool SleepUntil(absl::Time until,
                  const std::function<bool()>& cancelled) override {
    while (true) {
      if (cancelled && cancelled()) return false;
      const absl::Duration left = until - absl::Now();
      if (left <= absl::ZeroDuration()) return true;
      absl::SleepFor(std::min(left, absl::Milliseconds(50)));
    }
  }
  // A process-wide instance.
  static RealClock* Get() {
    static auto* clock = new RealClock;
    return clock;
  }
};

}  // namespace unified

#endif  // CONNECTORS_COMMON_CLOCK_H_
