// The request pipeline every connector sends its provider calls through
// (docs/architecture.md, "One call end to end"). For one request:
//
//   admission   ctx.admit, then a slot of the identity's rate budget (the
//               class per the provider's RateClassifier), never past the
//               caller's deadline;
//   credentials the account's access token, injected by the provider's
//               protocol;
//   send        one attempt, bounded by the deadline and attempt_timeout;
//   learn       the provider's rate signals feed the budget; a rate-limit
//               answer stops the whole identity for the wait it names;
//   refresh     an answer the protocol calls "expired token" is refreshed
//               once (shared by concurrent callers) and replayed;
//   retry       5xx and transport failures, when the request may be retried,
//               with full-jitter exponential backoff inside the deadline and
//               within a retry budget, so retries cannot multiply an outage.
//
// Each step's errors are told apart by where they arise, never by their
// payload: an admission refusal is returned as it is, a transport failure
// is classified by its code.
#ifndef CONNECTORS_COMMON_REQUEST_PIPELINE_H_
#define CONNECTORS_COMMON_REQUEST_PIPELINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "connectors/common/call_context.h"
#include "connectors/common/clock.h"
#include "connectors/common/http_client.h"
#include "connectors/common/rate_budget.h"

namespace unified {

// What one answer tells the budget.
struct RateSignal {
  // The identity's limit and what is left of it, when the answer says.
  std::optional<int64_t> limit;
  std::optional<int64_t> remaining;
  // The provider refused for the rate limit: the identity stops for `wait`
  // (unset: the budget's doubling default).
  bool stop = false;
  std::optional<absl::Duration> wait;
};

// The provider-specific steps of the pipeline. Thread-safe.
class UpstreamProtocol {
 public:
  virtual ~UpstreamProtocol() = default;
  // The provider's name in messages, e.g. "the provider".
  virtual std::string display_name() const = 0;
  // Adds `token` to an attempt (e.g. an Authorization header).
  virtual void Authorize(const std::string& token,
                         HttpRequest& attempt) const = 0;
  // Whether `response` rejects the token as expired: it is then refreshed
  // once and the request replayed.
  virtual bool IsExpiredToken(const HttpResponse& response) const = 0;
  // What `response` says of the identity's rate budget.
  virtual RateSignal ReadRateSignal(const HttpResponse& response) const = 0;
};

struct RequestPipelineOptions {
  // The provider's API base URL, without a trailing slash; requests carry
  // the path and query.
  std::string api_base;
  // Attempts per request for retryable failures (5xx, transport).
  int max_attempts = 3;
  // First backoff; doubles per retry, with full jitter.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  // Upper bound of one attempt's transfer time (the deadline may be shorter).
  absl::Duration attempt_timeout = absl::Seconds(30);
  // Retry budget: retries may add at most this share of first attempts,
  // plus a reserve of `retry_reserve` (a token bucket).
  double retry_ratio = 0.1;
  double retry_reserve = 10;
  // Which calls count against the restricted class of the budget.
  RateClassifier classifier = RateClassifier({});
  // Sent as Accept when the request names none.
  std::string accept = "application/json";
};

// One exchange outside the pipeline (a token endpoint; checking a token
// someone hands us): no budget, credentials or retry, bounded by `deadline`
// and `max_attempt`. Any HTTP answer is a result; transport failures are
// DEADLINE_EXCEEDED or UNAVAILABLE (UPSTREAM_UNREACHABLE) naming
// `provider`.
absl::StatusOr<HttpResponse> SendOnce(
    HttpClient& http, Clock& clock, HttpRequest request, absl::Time deadline,
    absl::string_view provider, absl::Duration max_attempt = absl::Seconds(30));

// Thread-safe; not owning `http`, `async`, `clock` or `protocol`.
class RequestPipeline {
 public:
  // `async` (may be null: nothing is read ahead) carries the requests
  // started ahead of need (StartAhead).
  RequestPipeline(HttpClient* http, Clock* clock,
                  const UpstreamProtocol* protocol,
                  RequestPipelineOptions options,
                  AsyncHttpClient* async = nullptr);

  // Sends `request` (its url relative to the API base) through every step
  // and returns the provider's answer, whatever its status, once it is not
  // an expired-token answer and retrying (when `retry`) has not helped.
  // Errors: the admission's own (budget, ctx.admit); credentials'
  // (TokenSource); DEADLINE_EXCEEDED, CANCELLED; UNAVAILABLE
  // (UPSTREAM_UNREACHABLE) when no attempt got an answer; INTERNAL
  // (UPSTREAM_RESPONSE_TOO_LARGE).
  absl::StatusOr<HttpResponse> Send(CallContext& ctx, HttpRequest request,
                                    bool retry);

  // A GET of `path_and_query`: Send with retries.
  absl::StatusOr<HttpResponse> Get(CallContext& ctx,
                                   const std::string& path_and_query);

  // Whether StartAhead can start anything (there is an async client).
  bool can_read_ahead() const { return async_ != nullptr; }

  // Starts a GET of `path_and_query` ahead of need on the async client,
  // without waiting for anything: the access token held now (no refresh),
  // ctx.admit, and a budget slot only when one is free now with more than
  // `reserve` of its class's limit left (RateBudget::TryAcquire, at the
  // call's priority).
  // One attempt: `done` gets the answer, whatever its status, or the
  // transport error, on the async client's thread, and must not block. The
  // body comes as sent, gzipped when the provider would (DecodeContent).
  // The budget has not learned from the answer yet: hand it to Learn.
  // Errors (nothing started): FAILED_PRECONDITION without an async client,
  // credentials or a free slot; ctx.admit's own.
  absl::Status StartAhead(
      CallContext& ctx, const std::string& path_and_query, double reserve,
      std::function<void(absl::StatusOr<HttpResponse>)> done);
  // Ends at once the StartAhead requests whose ctx.cancelled says so.
  void PollCancelled() {
    if (async_ != nullptr) async_->PollCancelled();
  }
  // Whether Send would return `response` to its first attempt as it is:
  // neither a 5xx nor an expired-token answer.
  bool IsFinal(const HttpResponse& response) const {
    return response.status < 500 && !protocol_->IsExpiredToken(response);
  }
  // What an answer StartAhead fetched tells the budget (as Send learns).
  void Learn(CallContext& ctx, const std::string& path_and_query,
             const HttpResponse& response);

  // HTTP requests sent so far (for tests and metrics).
  int64_t requests_sent() const { return requests_sent_.load(); }
  // New upstream connections opened so far (keep-alive reuse shows here).
  int64_t connections_opened() const { return connections_opened_.load(); }

 private:
  // Admission: ctx.admit, then the budget. Any error is final.
  absl::Status Admit(CallContext& ctx, RateClass cls);
  // `request` as it goes out (the API base, credentials, Accept, timeout
  // and cancellation added), counted as sent.
  HttpRequest Attempt(CallContext& ctx, const HttpRequest& request,
                      const std::string& token);
  // The budget learns from an answer of class `cls`.
  void LearnClass(CallContext& ctx, RateClass cls,
                  const HttpResponse& response);
  // One attempt with `token`: the answer (after the budget learned from it)
  // or a transport error.
  absl::StatusOr<HttpResponse> Transfer(CallContext& ctx,
                                        const HttpRequest& request,
                                        RateClass cls,
                                        const std::string& token);
  bool TakeRetryToken();
  void CreditRetryBudget();

  HttpClient* const http_;
  AsyncHttpClient* const async_;
  Clock* const clock_;
  const UpstreamProtocol* const protocol_;
  const RequestPipelineOptions options_;
  std::atomic<int64_t> requests_sent_{0};
  std::atomic<int64_t> connections_opened_{0};
  absl::Mutex retry_mu_;
  double retry_tokens_ ABSL_GUARDED_BY(retry_mu_);
};

}  // namespace unified

#endif  // CONNECTORS_COMMON_REQUEST_PIPELINE_H_
