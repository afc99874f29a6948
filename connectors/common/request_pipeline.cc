#include "connectors/common/request_pipeline.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"

namespace unified {
namespace {

std::string PathOf(const std::string& path_and_query) {
  return path_and_query.substr(0, path_and_query.find('?'));
}

}  // namespace

absl::StatusOr<HttpResponse> SendOnce(HttpClient& http, Clock& clock,
                                      HttpRequest request, absl::Time deadline,
                                      absl::string_view provider,
                                      absl::Duration max_attempt) {
  const absl::Duration left = deadline - clock.Now();
  if (left <= absl::ZeroDuration()) {
    return WithErrorInfo(absl::DeadlineExceededError(absl::StrCat(
                             "deadline passed before calling ", provider)),
                         "DEADLINE_EXCEEDED");
  }
  request.timeout = std::min(left, max_attempt);
  absl::StatusOr<HttpResponse> response = http.Send(request);
  if (!response.ok()) {
    if (response.status().code() == absl::StatusCode::kDeadlineExceeded) {
      return WithErrorInfo(response.status(), "DEADLINE_EXCEEDED");
    }
    return WithErrorInfo(
        absl::UnavailableError(absl::StrCat(
            provider, " unreachable: ", response.status().message())),
        "UPSTREAM_UNREACHABLE");
  }
  return response;
}

RequestPipeline::RequestPipeline(HttpClient* http, Clock* clock,
                                 const UpstreamProtocol* protocol,
                                 RequestPipelineOptions options,
                                 AsyncHttpClient* async)
    : http_(http),
      async_(async),
      clock_(clock),
      protocol_(protocol),
      options_(std::move(options)),
      retry_tokens_(options_.retry_reserve) {}

bool RequestPipeline::TakeRetryToken() {
  absl::MutexLock lock(&retry_mu_);
  if (retry_tokens_ < 1) return false;
  retry_tokens_ -= 1;
  return true;
}

void RequestPipeline::CreditRetryBudget() {
  absl::MutexLock lock(&retry_mu_);
  retry_tokens_ =
      std::min(options_.retry_reserve, retry_tokens_ + options_.retry_ratio);
}

absl::Status RequestPipeline::Admit(CallContext& ctx, RateClass cls) {
  if (ctx.admit) RETURN_IF_ERROR(ctx.admit());
  if (ctx.budget != nullptr) {
    RETURN_IF_ERROR(ctx.budget->Acquire(ctx.budget_key, cls, ctx.priority,
                                        ctx.deadline, ctx.cancelled));
  }
  if (ctx.deadline <= clock_->Now()) {
    return WithErrorInfo(
        absl::DeadlineExceededError(absl::StrCat(
            "deadline passed before calling ", protocol_->display_name())),
        "DEADLINE_EXCEEDED");
  }
  return absl::OkStatus();
}

HttpRequest RequestPipeline::Attempt(CallContext& ctx,
                                     const HttpRequest& request,
                                     const std::string& token) {
  HttpRequest attempt = request;
  attempt.url = options_.api_base + request.url;
  protocol_->Authorize(token, attempt);
  if (!options_.accept.empty() &&
      std::none_of(attempt.headers.begin(), attempt.headers.end(),
                   [](const auto& h) {
                     return absl::EqualsIgnoreCase(h.first, "Accept");
                   })) {
    attempt.headers.emplace_back("Accept", options_.accept);
  }
  attempt.timeout =
      std::min(ctx.deadline - clock_->Now(), options_.attempt_timeout);
  attempt.cancelled = ctx.cancelled;
  ++requests_sent_;
  if (ctx.upstream_calls != nullptr) ctx.upstream_calls->fetch_add(1);
  return attempt;
}

void RequestPipeline::LearnClass(CallContext& ctx, RateClass cls,
                                 const HttpResponse& response) {
  connections_opened_ += response.new_connections;
  if (ctx.budget == nullptr) return;
  const RateSignal signal = protocol_->ReadRateSignal(response);
  (void)ctx.budget->Observe(ctx.budget_key, cls, signal.limit,
                            signal.remaining);
  // A hard stop for the whole identity.
  if (signal.stop) (void)ctx.budget->Block(ctx.budget_key, signal.wait);
}

void RequestPipeline::Learn(CallContext& ctx, const std::string& path_and_query,
                            const HttpResponse& response) {
  LearnClass(ctx, options_.classifier.Classify("GET", PathOf(path_and_query)),
             response);
}

absl::StatusOr<HttpResponse> RequestPipeline::Transfer(
    CallContext& ctx, const HttpRequest& request, RateClass cls,
    const std::string& token) {
  absl::StatusOr<HttpResponse> response =
      http_->Send(Attempt(ctx, request, token));
  if (response.ok()) LearnClass(ctx, cls, *response);
  return response;
}

absl::Status RequestPipeline::StartAhead(
    CallContext& ctx, const std::string& path_and_query, double reserve,
    std::function<void(absl::StatusOr<HttpResponse>)> done) {
  if (async_ == nullptr || ctx.tokens == nullptr) {
    return absl::FailedPreconditionError("nothing to read ahead with");
  }
  // The token held now: a refresh in flight is not waited for.
  ASSIGN_OR_RETURN(std::string token, ctx.tokens->AccessToken(clock_->Now()));
  HttpRequest request;
  request.url = path_and_query;
  // Kept coded until used (ReadAhead::Take decodes): answers waiting for
  // their reader hold a tenth of the memory.
  request.decode_content = false;
  request.headers.emplace_back("Accept-Encoding", "gzip");
  const RateClass cls =
      options_.classifier.Classify(request.method, PathOf(path_and_query));
  if (ctx.admit) RETURN_IF_ERROR(ctx.admit());
  if (ctx.budget != nullptr) {
    ASSIGN_OR_RETURN(bool taken, ctx.budget->TryAcquire(ctx.budget_key, cls,
                                                        ctx.priority, reserve));
    if (!taken) {
      return absl::FailedPreconditionError(
          "no budget to spare for reading ahead");
    }
  }
  async_->Start(Attempt(ctx, request, token), std::move(done));
  return absl::OkStatus();
}

absl::StatusOr<HttpResponse> RequestPipeline::Get(
    CallContext& ctx, const std::string& path_and_query) {
  HttpRequest request;
  request.url = path_and_query;
  return Send(ctx, std::move(request), /*retry=*/true);
}

absl::StatusOr<HttpResponse> RequestPipeline::Send(CallContext& ctx,
                                                   HttpRequest request,
                                                   bool retry) {
  if (ctx.tokens == nullptr) {
    return absl::FailedPreconditionError("no credentials for this account");
  }
  ASSIGN_OR_RETURN(std::string token, ctx.tokens->AccessToken(ctx.deadline));
  const RateClass cls =
      options_.classifier.Classify(request.method, PathOf(request.url));
  const std::string provider = protocol_->display_name();
  bool refreshed = false;
  absl::BitGen bitgen;
  absl::Status last_error;
  std::optional<HttpResponse> last_answer;
  CreditRetryBudget();
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    if (attempt > 0) {
      if (!retry || !TakeRetryToken()) break;
      // Full jitter: a uniform wait up to the exponential ceiling.
      const absl::Duration ceiling = options_.initial_backoff * (1 << attempt);
      const absl::Duration wait = absl::Nanoseconds(absl::Uniform<int64_t>(
          bitgen, 0, std::max<int64_t>(1, absl::ToInt64Nanoseconds(ceiling))));
      if (clock_->Now() + wait >= ctx.deadline) break;  // No time to retry.
      if (!clock_->SleepUntil(clock_->Now() + wait, ctx.cancelled)) {
        return WithErrorInfo(absl::CancelledError("cancelled by the caller"),
                             "CANCELLED");
      }
    }
    RETURN_IF_ERROR(Admit(ctx, cls));
    absl::StatusOr<HttpResponse> response = Transfer(ctx, request, cls, token);
    if (!response.ok()) {
      // Transport failures, by their code.
      switch (response.status().code()) {
        case absl::StatusCode::kCancelled:
          return WithErrorInfo(response.status(), "CANCELLED");
        case absl::StatusCode::kDeadlineExceeded:
          return WithErrorInfo(response.status(), "DEADLINE_EXCEEDED");
        case absl::StatusCode::kResourceExhausted:
          return WithErrorInfo(
              absl::InternalError(absl::StrCat(provider, " answer too large: ",
                                               response.status().message())),
              "UPSTREAM_RESPONSE_TOO_LARGE");
        default:
          last_error = WithErrorInfo(
              absl::UnavailableError(absl::StrCat(
                  provider, " unreachable: ", response.status().message())),
              "UPSTREAM_UNREACHABLE");
          last_answer.reset();
          continue;
      }
    }
    if (!refreshed && protocol_->IsExpiredToken(*response)) {
      // One refresh, one replay; a second rejection is final (providers
      // also call bogus tokens expired, so looping would never end).
      refreshed = true;
      ASSIGN_OR_RETURN(token, ctx.tokens->Refresh(token, ctx.deadline));
      --attempt;  // The replay is not a retry of a failure.
      continue;
    }
    if (response->status < 500) return std::move(*response);
    last_answer = std::move(*response);  // 5xx: retried when allowed.
    last_error = absl::OkStatus();
  }
  if (last_answer) return std::move(*last_answer);
  return last_error.ok()
             ? WithErrorInfo(absl::DeadlineExceededError(absl::StrCat(
                                 "deadline passed while retrying ", provider)),
                             "DEADLINE_EXCEEDED")
             : last_error;
}

}  // namespace unified
