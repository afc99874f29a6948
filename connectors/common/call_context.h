// What one provider call carries through a connector: its deadline,
// cancellation, rate budget slot, credentials and bookkeeping. Vendor
// neutral; the service builds it (service/core/account_call.h), connectors and
// the request pipeline (request_pipeline.h) read it.
#ifndef CONNECTORS_COMMON_CALL_CONTEXT_H_
#define CONNECTORS_COMMON_CALL_CONTEXT_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/common/rate_budget.h"

namespace unified {

// Supplies the provider access token of one integrated account. Implemented
// by the service's account layer; thread-safe.
class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // The current access token. Waiting for a refresh in flight ends at
  // `deadline` (DEADLINE_EXCEEDED); a token still valid is used meanwhile.
  virtual absl::StatusOr<std::string> AccessToken(absl::Time deadline) = 0;
  // Called when the provider rejected `rejected` as expired: returns a fresh
  // token (refreshing at most once, shared by concurrent callers), or
  // UNAUTHENTICATED / FAILED_PRECONDITION when the account needs
  // re-authorization, or DEADLINE_EXCEEDED when `deadline` passes first.
  virtual absl::StatusOr<std::string> Refresh(const std::string& rejected,
                                              absl::Time deadline) = 0;
};

// Pages one tenant's listings may hold read ahead at once (requests in
// flight or answers waiting to be used), over all its calls: what reading
// ahead may cost in memory is bounded per tenant (read_ahead.h).
// Thread-safe.
class ReadAheadAllowance {
 public:
  explicit ReadAheadAllowance(int pages) : left_(pages) {}
  // Takes one page's room; false when none is left.
  bool TryTake() {
    int left = left_.load(std::memory_order_relaxed);
    while (left > 0) {
      if (left_.compare_exchange_weak(left, left - 1)) return true;
    }
    return false;
  }
  void Give() { left_.fetch_add(1); }
  int left() const { return left_.load(); }

 private:
  std::atomic<int> left_;
};

// What a provider refused one account (e.g. an admin-only listing), kept by
// the caller beyond one call so that the connector does not ask again in
// vain: the watch's polls keep it in the store, with a time to ask again
// (service/watch/hook_store.h). Keys are the connector's own. Thread-safe.
class RefusalMemory {
 public:
  virtual ~RefusalMemory() = default;
  // Whether `what` was refused and is not yet to be asked again.
  virtual bool Refused(const std::string& what) = 0;
  // `what` was refused now.
  virtual void Refuse(const std::string& what) = 0;
};

// One call's context: when to give up, whether the caller went away, and
// whose credentials to use. Not owned pointers must outlive the call.
struct CallContext {
  absl::Time deadline = absl::InfiniteFuture();
  // The upstream identity's rate budget (null: unbudgeted, e.g. in unit
  // tests), its key, and how urgent this call is: every request the
  // connector sends, prefetches included, takes a slot first.
  RateBudget* budget = nullptr;
  std::string budget_key;
  Priority priority = Priority::kInteractive;
  // True once the caller cancelled; polled during transfers.
  std::function<bool()> cancelled = [] { return false; };
  TokenSource* tokens = nullptr;
  // Asked before each request the connector sends, ahead of the budget; an
  // error stops the call with it. The watch poll keeps to its share of the
  // budget here. Unset: every request is admitted.
  std::function<absl::Status()> admit;
  // Counts the requests the connector sends for this call (for the access
  // log); null = not counted.
  std::shared_ptr<std::atomic<int>> upstream_calls;
  // The room its tenant's listings share for pages read ahead; null = no
  // bound but each listing's own window.
  std::shared_ptr<ReadAheadAllowance> read_ahead;
  // What the provider refused this account before (null: nothing kept;
  // every call asks).
  RefusalMemory* refusals = nullptr;
};

}  // namespace unified

#endif  // CONNECTORS_COMMON_CALL_CONTEXT_H_
