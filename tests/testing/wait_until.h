// The one way tests wait for a condition they cannot be signalled about
// (a metric, a health status, a file reload): poll it until it holds or a
// generous timeout passes. Tests then assert the condition itself, so a
// timeout fails on what was expected, not on a time.
#ifndef TESTS_TESTING_WAIT_UNTIL_H_
#define TESTS_TESTING_WAIT_UNTIL_H_

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace unified::testing {

// Whether `done` held before `timeout` passed, asking every `every`.
inline bool WaitUntil(const std::function<bool()>& done,
                      absl::Duration timeout = absl::Seconds(30),
                      absl::Duration every = absl::Milliseconds(20)) {
  const absl::Time give_up = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= give_up) return false;
    absl::SleepFor(every);
  }
  return true;
}

}  // namespace unified::testing

#endif  // TESTS_TESTING_WAIT_UNTIL_H_
