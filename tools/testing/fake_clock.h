// A clock that moves only when a test says so; sleepers wake when it passes
// their time. Lets rate-budget tests run an hour of virtual time in
// milliseconds, with no real sleeps deciding outcomes.
#ifndef TESTS_TESTING_FAKE_CLOCK_H_
#define TESTS_TESTING_FAKE_CLOCK_H_

#include <functional>
#include <set>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "connectors/common/clock.h"

namespace unified::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1767225600))
      : now_(start) {}

  absl::Time Now() override {
    absl::MutexLock lock(&mu_);
    return now_;
  }

  bool SleepUntil(absl::Time until,
                  const std::function<bool()>& cancelled) override {
    absl::MutexLock lock(&mu_);
    auto wake = wakes_.insert(until);
    cv_.SignalAll();  // A driver may wait for sleepers.
    while (now_ < until) {
      if (cancelled && cancelled()) {
        wakes_.erase(wake);
        return false;
      }
      // Wakes on Advance; the short real timeout only re-checks
      // `cancelled`.
      cv_.WaitWithTimeout(&mu_, absl::Milliseconds(20));
    }
    wakes_.erase(wake);
    cv_.SignalAll();
    return true;
  }

  void Advance(absl::Duration by) {
    absl::MutexLock lock(&mu_);
    now_ += by;
    cv_.SignalAll();
  }

  // Threads sleeping now, and the earliest time one of them wakes.
  int sleepers() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(wakes_.size());
  }
  absl::Time EarliestWake() {
    absl::MutexLock lock(&mu_);
    return wakes_.empty() ? absl::InfiniteFuture() : *wakes_.begin();
  }
  // Blocks until at least `want()` threads sleep (re-read as it changes).
  void AwaitSleepersOr(const std::function<int()>& want) {
    absl::MutexLock lock(&mu_);
    while (static_cast<int>(wakes_.size()) < want()) {
      cv_.WaitWithTimeout(&mu_, absl::Milliseconds(1));
    }
  }
  // Blocks until at least `n` threads sleep.
  void AwaitSleepers(int n) {
    AwaitSleepersOr([n] { return n; });
  }

 private:
  absl::Mutex mu_;
  absl::CondVar cv_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  std::multiset<absl::Time> wakes_ ABSL_GUARDED_BY(mu_);
};

// A FakeClock's time, where every sleep moves time on at once: retries'
// backoffs take no real time, and nothing waits for another thread.
class JumpingClock final : public Clock {
 public:
  explicit JumpingClock(FakeClock* clock) : clock_(clock) {}
  absl::Time Now() override { return clock_->Now(); }
  bool SleepUntil(absl::Time until, const std::function<bool()>&) override {
    if (until > clock_->Now()) clock_->Advance(until - clock_->Now());
    return true;
  }

 private:
  FakeClock* const clock_;
};

}  // namespace unified::testing

#endif  // TESTS_TESTING_FAKE_CLOCK_H_
