// The rate budget of upstream identities (docs/architecture.md, "Invariants":
// the budget is never overspent): one per provider identity and API client,
// shared by directory calls, proxy calls, token refreshes and polling, so no
// caller ever trips the provider's limit (e.g. 1,000 calls per hour, 250 for a
// restricted class of operations, a hard stop once spent, and no word on when
// the window resets).
//
// The ledger counts every call of the last `window` per class (a sliding
// window: never more than `limit` calls in any window, however the provider
// aligns its own; a "rate limited" call counts in both classes), learns limits
// and remaining counts from the provider's headers (they win over the
// configured constants), and treats a 420 as a hard stop of the identity for
// the wait the provider names, or a doubling backoff. Callers wait for a slot
// by priority (interactive before bulk before background), never past their
// deadline: a wait that would outlast it fails at once with RESOURCE_EXHAUSTED
// and a retry delay.
#ifndef CONNECTORS_COMMON_RATE_BUDGET_H_
#define CONNECTORS_COMMON_RATE_BUDGET_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "connectors/common/clock.h"
#include "connectors/common/upstream_observer.h"

namespace unified {

enum class RateClass { kNormal = 0, kRestricted = 1 };
enum class Priority { kInteractive = 0, kBulk = 1, kBackground = 2 };

// A provider's calls per window, by class: what its plug-in documents
// (Provider::rate_limits) or what the operator sets.
struct RateLimits {
  int64_t limit = 0;             // Normal class.
  int64_t restricted_limit = 0;  // Its restricted ("rate limited") class.
};

struct RateBudgetOptions {
  // Calls per window of an identity whose provider is not in `providers`.
  int64_t limit = 1000;            // Normal class.
  int64_t restricted_limit = 250;  // "Rate limited" class.
  // By provider name, a budget key's first ':'-separated segment (e.g.
  // "podio" in "podio:user:1/client"): that provider's limits.
  std::map<std::string, RateLimits, std::less<>> providers;
  absl::Duration window = absl::Hours(1);
  // A call is counted for `window` plus this share of it: the provider's
  // window starts when its first call arrives, and network delays differ
  // from call to call, so a call sent the instant one leaves this side's
  // window could still land inside the provider's and get a 420
  // (docs/cluster.md, "The budget at the window's edge"). The server uses
  // 0.02 (72 s an hour); 0 counts the window exactly.
  double window_margin = 0;
  // A 420 without a stated wait blocks this long, doubling while they repeat
  // (up to max_block).
  absl::Duration default_block = absl::Minutes(1);
  absl::Duration max_block = absl::Hours(1);
  // Longest single sleep of a waiter, so that priorities and cancellation
  // are noticed while waiting.
  absl::Duration poll = absl::Milliseconds(50);
  // A caller waits for a slot only when it frees at least this long before
  // the caller's deadline, which the provider call itself still needs;
  // otherwise it is refused at once (RATE_BUDGET_EXHAUSTED with the delay),
  // never left to run out of time.
  absl::Duration call_room = absl::Seconds(1);
};

// How long a call counts against its identity: the window and its margin.
inline absl::Duration CountedFor(const RateBudgetOptions& options) {
  return options.window * (1 + options.window_margin);
}

// What an identity has left.
struct BudgetState {
  int64_t limit = 0;
  int64_t remaining = 0;
  int64_t restricted_limit = 0;
  int64_t restricted_remaining = 0;
  absl::Time blocked_until = absl::InfinitePast();
};

// Where calls are counted: this process's memory, or a database shared by
// replicas. Thread-safe.
class RateLedger {
 public:
  virtual ~RateLedger() = default;
  // Takes one slot of `cls` for `key` at `now` when the identity is not
  // blocked and the class has room (returns nullopt); otherwise the earliest
  // time a slot may be free.
  virtual absl::StatusOr<std::optional<absl::Time>> TryTake(
      const std::string& key, RateClass cls, absl::Time now) = 0;
  // The provider's headers after a call of `cls`.
  virtual absl::Status Observe(const std::string& key, RateClass cls,
                               std::optional<int64_t> limit,
                               std::optional<int64_t> remaining,
                               absl::Time now) = 0;
  // A 420: blocks the identity (both classes) until `now + wait`, or for the
  // doubling default backoff when the provider named no wait.
  virtual absl::Status Block(const std::string& key,
                             std::optional<absl::Duration> wait,
                             absl::Time now) = 0;
  virtual absl::StatusOr<BudgetState> State(const std::string& key,
                                            absl::Time now) = 0;
};

// Rules both ledgers follow. The limit of `cls` for the identity `key`: the
// provider's `learned` one (when > 0), else the configured one of the key's
// provider, else the options' own.
int64_t LimitOf(const RateBudgetOptions& options, absl::string_view key,
                RateClass cls, int64_t learned);
// How long a 420 stops an identity: the provider's `wait`, else
// `default_block` doubled per unnamed 420 in a row (up to `max_block`);
// `*consecutive` counts those and is advanced.
absl::Duration BlockDuration(const RateBudgetOptions& options,
                             std::optional<absl::Duration> wait,
                             int64_t* consecutive);

// The in-process ledger.
std::unique_ptr<RateLedger> NewMemoryRateLedger(RateBudgetOptions options);

// Told when a provider's rate limit stops an identity (a 420 learned by
// Block). Thread-safe; must not call back into the budget.
class RateLimitListener {
 public:
  virtual ~RateLimitListener() = default;
  // The identity `key` makes no call before `until`.
  virtual void OnBlocked(const std::string& key, absl::Time until) = 0;
};

// Thread-safe; not owning `ledger`, `clock`, `observer` or `listener`.
class RateBudget {
 public:
  // `observer` is told what is left after each learned answer, `listener`
  // of each block (null: nobody).
  RateBudget(RateLedger* ledger, Clock* clock, RateBudgetOptions options,
             UpstreamObserver* observer = nullptr,
             RateLimitListener* listener = nullptr)
      : ledger_(ledger),
        clock_(clock),
        options_(options),
        observer_(observer),
        listener_(listener) {}

  // Waits for a slot, higher priorities first. RESOURCE_EXHAUSTED (reason
  // RATE_BUDGET_EXHAUSTED, with RetryInfo) at once when the slot would come
  // after `deadline`; CANCELLED when `cancelled` says so while waiting.
  absl::Status Acquire(const std::string& key, RateClass cls, Priority priority,
                       absl::Time deadline,
                       const std::function<bool()>& cancelled);

  // Takes a slot without waiting, for speculative calls: only when one is
  // free now, nobody more urgent waits, and more than `reserve` (a share of
  // the class's limit) would still be left in the window. False when
  // nothing was taken.
  absl::StatusOr<bool> TryAcquire(const std::string& key, RateClass cls,
                                  Priority priority, double reserve);

  absl::Status Observe(const std::string& key, RateClass cls,
                       std::optional<int64_t> limit,
                       std::optional<int64_t> remaining) {
    if (observer_ != nullptr && remaining) {
      observer_->OnBudgetRemaining(*remaining);
    }
    return ledger_->Observe(key, cls, limit, remaining, clock_->Now());
  }
  // Told of refusals and of the remaining counts providers report (for
  // metrics); null = nobody. Set before use.
  absl::Status Block(const std::string& key,
                     std::optional<absl::Duration> wait);
  absl::StatusOr<BudgetState> State(const std::string& key) {
    return ledger_->State(key, clock_->Now());
  }

  // Callers waiting now, by priority (for tests and metrics).
  int waiting(Priority priority) const;

 private:
  bool HigherPriorityWaiting(const std::string& key, Priority priority) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetWaiting(const std::string& key, Priority priority, int delta)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  RateLedger* const ledger_;
  Clock* const clock_;
  const RateBudgetOptions options_;
  UpstreamObserver* const observer_;
  RateLimitListener* const listener_;
  mutable absl::Mutex mu_;
  // Waiters per (key, priority).
  std::map<std::pair<std::string, int>, int> waiting_ ABSL_GUARDED_BY(mu_);
  int waiting_by_priority_[3] ABSL_GUARDED_BY(mu_) = {0, 0, 0};
};

// Which calls count as "rate limited": patterns "METHOD /path" where `*`
// stands for one path segment and a trailing "/**" for any rest, e.g.
// "GET /contact/*". Thread-safe (immutable).
class RateClassifier {
 public:
  explicit RateClassifier(std::vector<std::string> patterns)
      : patterns_(std::move(patterns)) {}
  RateClass Classify(absl::string_view method, absl::string_view path) const;

 private:
  std::vector<std::string> patterns_;
};

}  // namespace unified

#endif  // CONNECTORS_COMMON_RATE_BUDGET_H_
