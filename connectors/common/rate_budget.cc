#include "connectors/common/rate_budget.h"

#include <algorithm>
#include <cmath>
#include <deque>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"

namespace unified {
namespace {

class MemoryRateLedger final : public RateLedger {
 public:
  explicit MemoryRateLedger(RateBudgetOptions options) : options_(options) {}

  absl::StatusOr<std::optional<absl::Time>> TryTake(const std::string& key,
                                                    RateClass cls,
                                                    absl::Time now) override {
    absl::MutexLock lock(&mu_);
    Identity& id = Get(key);
    if (id.blocked_until > now) return id.blocked_until;
    // A restricted call also counts against the general limit (the
    // conservative reading of two limits).
    std::optional<absl::Time> free_at = Full(key, id, RateClass::kNormal, now);
    if (cls == RateClass::kRestricted && !free_at) {
      free_at = Full(key, id, RateClass::kRestricted, now);
    }
    if (free_at) return free_at;
    Calls(id, RateClass::kNormal, now).push_back(now);
    if (cls == RateClass::kRestricted) {
      Calls(id, RateClass::kRestricted, now).push_back(now);
    }
    return std::nullopt;
  }

  absl::Status Observe(const std::string& key, RateClass cls,
                       std::optional<int64_t> limit,
                       std::optional<int64_t> remaining,
                       absl::Time now) override {
    absl::MutexLock lock(&mu_);
    Identity& id = Get(key);
    if (limit && *limit > 0) id.limit[static_cast<int>(cls)] = *limit;
    std::deque<absl::Time>& calls = Calls(id, cls, now);
    if (remaining && *remaining >= 0) {
      // The provider counted calls we did not (another client of the same
      // key, or calls before a restart): count them too, as made now.
      const int64_t used = Limit(key, id, cls) - *remaining;
      while (static_cast<int64_t>(calls.size()) < used) calls.push_back(now);
    }
    id.consecutive_blocks = 0;
    return absl::OkStatus();
  }

  absl::Status Block(const std::string& key, std::optional<absl::Duration> wait,
                     absl::Time now) override {
    absl::MutexLock lock(&mu_);
    Identity& id = Get(key);
    const absl::Duration block =
        BlockDuration(options_, wait, &id.consecutive_blocks);
    id.blocked_until = std::max(id.blocked_until, now + block);
    return absl::OkStatus();
  }

  absl::StatusOr<BudgetState> State(const std::string& key,
                                    absl::Time now) override {
    absl::MutexLock lock(&mu_);
    Identity& id = Get(key);
    BudgetState state;
    state.limit = Limit(key, id, RateClass::kNormal);
    state.restricted_limit = Limit(key, id, RateClass::kRestricted);
    state.remaining = std::max<int64_t>(
        0, state.limit -
               static_cast<int64_t>(Calls(id, RateClass::kNormal, now).size()));
    state.restricted_remaining = std::max<int64_t>(
        0, state.restricted_limit -
               static_cast<int64_t>(
                   Calls(id, RateClass::kRestricted, now).size()));
    state.blocked_until = id.blocked_until;
    return state;
  }

 private:
  struct Identity {
    std::deque<absl::Time> calls[2];
    int64_t limit[2] = {0, 0};  // 0 = the configured default.
    absl::Time blocked_until = absl::InfinitePast();
    int64_t consecutive_blocks = 0;
  };

  Identity& Get(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return identities_[key];
  }
  int64_t Limit(absl::string_view key, const Identity& id,
                RateClass cls) const {
    return LimitOf(options_, key, cls, id.limit[static_cast<int>(cls)]);
  }
  // When the class has no room: the time its oldest counted call leaves the
  // window (or now, when the limit was lowered below the count).
  std::optional<absl::Time> Full(absl::string_view key, Identity& id,
                                 RateClass cls, absl::Time now) {
    std::deque<absl::Time>& calls = Calls(id, cls, now);
    const int64_t limit = Limit(key, id, cls);
    if (static_cast<int64_t>(calls.size()) < limit) return std::nullopt;
    const int64_t over = static_cast<int64_t>(calls.size()) - limit;
    return calls[std::min<int64_t>(over, calls.size() - 1)] +
           CountedFor(options_);
  }

  // The class's calls inside the window ending at `now`.
  std::deque<absl::Time>& Calls(Identity& id, RateClass cls, absl::Time now) {
    std::deque<absl::Time>& calls = id.calls[static_cast<int>(cls)];
    while (!calls.empty() && calls.front() + CountedFor(options_) <= now) {
      calls.pop_front();
    }
    return calls;
  }

  const RateBudgetOptions options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Identity> identities_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

int64_t LimitOf(const RateBudgetOptions& options, absl::string_view key,
                RateClass cls, int64_t learned) {
  if (learned > 0) return learned;
  RateLimits limits{options.limit, options.restricted_limit};
  auto it = options.providers.find(key.substr(0, key.find(':')));
  if (it != options.providers.end()) limits = it->second;
  return cls == RateClass::kNormal ? limits.limit : limits.restricted_limit;
}

absl::Duration BlockDuration(const RateBudgetOptions& options,
                             std::optional<absl::Duration> wait,
                             int64_t* consecutive) {
  if (wait) return *wait;
  const absl::Duration block = std::min(
      options.max_block,
      options.default_block * (1 << std::min<int64_t>(*consecutive, 12)));
  ++*consecutive;
  return block;
}

std::unique_ptr<RateLedger> NewMemoryRateLedger(RateBudgetOptions options) {
  return std::make_unique<MemoryRateLedger>(options);
}

bool RateBudget::HigherPriorityWaiting(const std::string& key,
                                       Priority priority) const {
  for (int p = 0; p < static_cast<int>(priority); ++p) {
    auto it = waiting_.find({key, p});
    if (it != waiting_.end() && it->second > 0) return true;
  }
  return false;
}

void RateBudget::SetWaiting(const std::string& key, Priority priority,
                            int delta) {
  waiting_[{key, static_cast<int>(priority)}] += delta;
  waiting_by_priority_[static_cast<int>(priority)] += delta;
  if (waiting_[{key, static_cast<int>(priority)}] == 0) {
    waiting_.erase({key, static_cast<int>(priority)});
  }
}

int RateBudget::waiting(Priority priority) const {
  absl::MutexLock lock(&mu_);
  return waiting_by_priority_[static_cast<int>(priority)];
}

absl::StatusOr<bool> RateBudget::TryAcquire(const std::string& key,
                                            RateClass cls, Priority priority,
                                            double reserve) {
  {
    absl::MutexLock lock(&mu_);
    if (HigherPriorityWaiting(key, priority)) return false;
  }
  const absl::Time now = clock_->Now();
  ASSIGN_OR_RETURN(BudgetState state, ledger_->State(key, now));
  const bool restricted = cls == RateClass::kRestricted;
  const int64_t left =
      restricted ? state.restricted_remaining : state.remaining;
  const double limit =
      static_cast<double>(restricted ? state.restricted_limit : state.limit);
  if (static_cast<double>(left) <= std::ceil(reserve * limit)) return false;
  ASSIGN_OR_RETURN(std::optional<absl::Time> taken,
                   ledger_->TryTake(key, cls, now));
  return !taken.has_value();
}

absl::Status RateBudget::Block(const std::string& key,
                               std::optional<absl::Duration> wait) {
  const absl::Time now = clock_->Now();
  RETURN_IF_ERROR(ledger_->Block(key, wait, now));
  if (listener_ == nullptr) return absl::OkStatus();
  ASSIGN_OR_RETURN(BudgetState state, ledger_->State(key, now));
  listener_->OnBlocked(key, state.blocked_until);
  return absl::OkStatus();
}

absl::Status RateBudget::Acquire(const std::string& key, RateClass cls,
                                 Priority priority, absl::Time deadline,
                                 const std::function<bool()>& cancelled) {
  // Counts this caller among the identity's waiters from its first wait
  // until it returns.
  struct Waiter {
    RateBudget* budget;
    const std::string& key;
    Priority priority;
    bool counted = false;
    void Count() {
      if (counted) return;
      absl::MutexLock lock(&budget->mu_);
      budget->SetWaiting(key, priority, +1);
      counted = true;
    }
    ~Waiter() {
      if (!counted) return;
      absl::MutexLock lock(&budget->mu_);
      budget->SetWaiting(key, priority, -1);
    }
  } waiter{this, key, priority};
  while (true) {
    const absl::Time now = clock_->Now();
    if (now >= deadline) {
      return WithErrorInfo(
          absl::DeadlineExceededError("deadline passed waiting for the rate "
                                      "budget"),
          "DEADLINE_EXCEEDED");
    }
    bool yield;
    {
      absl::MutexLock lock(&mu_);
      yield = HigherPriorityWaiting(key, priority);
    }
    // Someone more urgent waits for this budget: let them go first. The
    // ledger (perhaps a database) is asked outside the lock.
    absl::Time free_at = now + options_.poll;
    if (!yield) {
      ASSIGN_OR_RETURN(std::optional<absl::Time> taken,
                       ledger_->TryTake(key, cls, now));
      if (!taken) return absl::OkStatus();
      free_at = *taken;
    }
    if (free_at + options_.call_room >= deadline) {
      if (observer_ != nullptr) observer_->OnBudgetRefused();
      return AsRateRefusal(WithRetryDelay(
          WithErrorInfo(
              absl::ResourceExhaustedError(absl::StrCat(
                  "the upstream rate budget of this account is spent; the "
                  "next call is possible in ",
                  absl::FormatDuration(
                      absl::Ceil(free_at - now, absl::Seconds(1))),
                  ", too late for the call's deadline")),
              "RATE_BUDGET_EXHAUSTED",
              {{"rate_class",
                cls == RateClass::kNormal ? "normal" : "rate_limited"}}),
          free_at - now));
    }
    waiter.Count();
    if (!clock_->SleepUntil(std::min(free_at, now + options_.poll),
                            cancelled)) {
      return WithErrorInfo(absl::CancelledError("cancelled by the caller"),
                           "CANCELLED");
    }
  }
}

RateClass RateClassifier::Classify(absl::string_view method,
                                   absl::string_view path) const {
  for (const std::string& pattern : patterns_) {
    const size_t space = pattern.find(' ');
    if (space == std::string::npos ||
        !absl::EqualsIgnoreCase(pattern.substr(0, space), method)) {
      continue;
    }
    std::vector<absl::string_view> want =
        absl::StrSplit(absl::string_view(pattern).substr(space + 1), '/');
    std::vector<absl::string_view> got = absl::StrSplit(path, '/');
    bool match = true;
    size_t i = 0;
    for (; i < want.size() && match; ++i) {
      if (want[i] == "**") break;
      if (i >= got.size() ||
          (want[i] == "*" ? got[i].empty() : want[i] != got[i])) {
        match = false;
      }
    }
    if (match && (i < want.size() || got.size() == want.size())) {
      return RateClass::kRestricted;
    }
  }
  return RateClass::kNormal;
}

}  // namespace unified
