// The upstream budget as the API shows it: in responses' trailing metadata
// (x-upstream-budget-remaining, x-upstream-budget-limit) and as the
// UpstreamBudget message.
#ifndef SERVICE_CORE_BUDGET_REPORT_H_
#define SERVICE_CORE_BUDGET_REPORT_H_

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "connectors/common/rate_budget.h"
#include "grpcpp/server_context.h"
#include "proto/unified/v1/integrated_accounts.pb.h"
#include "service/core/proto_time.h"

namespace unified {

inline v1::UpstreamBudget ToProto(const BudgetState& state) {
  v1::UpstreamBudget out;
  out.set_limit(state.limit);
  out.set_remaining(state.remaining);
  out.set_rate_limited_limit(state.restricted_limit);
  out.set_rate_limited_remaining(state.restricted_remaining);
  if (state.blocked_until > absl::Now()) {  // Only while the stop lasts.
    *out.mutable_blocked_until() = ToTimestamp(state.blocked_until);
  }
  return out;
}

// Adds the budget of `key` to the call's trailing metadata when destroyed
// (so it reflects the calls this RPC made), or, with no context, when
// AddTrailers is called. The state is read once: a response that shows it
// too takes the same Snapshot(). Movable, not copyable.
class BudgetReporter {
 public:
  BudgetReporter(grpc::ServerContextBase* context, RateBudget* budget,
                 std::string key)
      : context_(context), budget_(budget), key_(std::move(key)) {}
  BudgetReporter(BudgetReporter&& other) noexcept
      : context_(other.context_),
        budget_(other.budget_),
        key_(std::move(other.key_)),
        state_(std::move(other.state_)) {
    other.budget_ = nullptr;
  }
  BudgetReporter& operator=(BudgetReporter&&) = delete;

  // The budget now (read on the first call, then kept); nullopt without a
  // budget or when it cannot be read.
  const std::optional<BudgetState>& Snapshot() {
    if (!state_ && budget_ != nullptr) {
      absl::StatusOr<BudgetState> state = budget_->State(key_);
      if (state.ok()) state_ = *state;
    }
    return state_;
  }

  ~BudgetReporter() {
    if (context_ != nullptr) AddTrailers(context_);
  }

  void AddTrailers(grpc::ServerContextBase* context) {
    if (budget_ == nullptr) return;
    const std::optional<BudgetState>& state = Snapshot();
    if (!state) return;
    context->AddTrailingMetadata("x-upstream-budget-remaining",
                                 absl::StrCat(state->remaining));
    context->AddTrailingMetadata("x-upstream-budget-limit",
                                 absl::StrCat(state->limit));
  }

 private:
  grpc::ServerContextBase* context_;
  RateBudget* budget_;
  std::string key_;
  std::optional<BudgetState> state_;
};

}  // namespace unified

#endif  // SERVICE_CORE_BUDGET_REPORT_H_
