// A cheap "has the caller gone?" check for work that asks often.
//
// On the synchronous gRPC server, ServerContext::IsCancelled() polls the
// call's completion queue (a zero-deadline pluck: a futex wait and a poll per
// question). libcurl asks through its progress callback several times per
// Podio request, which cost more than the rest of a proxied call together.
// The check below asks gRPC at most once per `every` and remembers a
// cancellation once seen, so a departed caller is noticed within `every`.
#ifndef SERVICE_CANCELLATION_H_
#define SERVICE_CANCELLATION_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/server_context.h"

namespace unified {

inline constexpr absl::Duration kCancelCheckInterval = absl::Milliseconds(5);

// Safe to call from several threads at once (a listing's prefetch thread
// asks too): one of them asks gRPC, the others use the last answer.
inline std::function<bool()> CancelCheck(
    grpc::ServerContext* context, absl::Duration every = kCancelCheckInterval) {
  struct State {
    std::atomic<bool> cancelled{false};
    std::atomic<int64_t> next_check_ns;
  };
  auto state = std::make_shared<State>();
  const int64_t every_ns = absl::ToInt64Nanoseconds(every);
  // The first question waits `every` too: a call that ends sooner never
  // pays for one, and the deadline still bounds it.
  state->next_check_ns.store(absl::GetCurrentTimeNanos() + every_ns);
  return [context, state, every_ns] {
    if (state->cancelled.load(std::memory_order_acquire)) return true;
    const int64_t now = absl::GetCurrentTimeNanos();
    int64_t due = state->next_check_ns.load(std::memory_order_relaxed);
    if (now < due || !state->next_check_ns.compare_exchange_strong(
                         due, now + every_ns, std::memory_order_relaxed)) {
      return false;  // Asked recently, or another thread is asking now.
    }
    if (context->IsCancelled()) {
      state->cancelled.store(true, std::memory_order_release);
      return true;
    }
    return false;
  };
}

}  // namespace unified

#endif  // SERVICE_CANCELLATION_H_
