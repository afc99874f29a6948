#include "connectors/podio/podio_client.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/json.h"
#include "connectors/common/status_macros.h"
#include "connectors/podio/podio_errors.h"

namespace unified::podio {
namespace {

// A 2xx answer's body as JSON; unreadable answers are INTERNAL.
absl::StatusOr<json::Body> Decode(std::string body) {
  absl::StatusOr<json::Body> doc = json::ParseOwned(std::move(body));
  if (!doc.ok()) {
    return WithErrorInfo(doc.status(), "UPSTREAM_MALFORMED_RESPONSE");
  }
  return doc;
}

std::optional<int64_t> HeaderInt(const HttpResponse& response,
                                 absl::string_view name) {
  int64_t value = 0;
  const std::string text = response.Header(name);
  if (text.empty() || !absl::SimpleAtoi(text, &value)) return std::nullopt;
  return value;
}

std::string PathOf(const std::string& path_and_query) {
  return path_and_query.substr(0, path_and_query.find('?'));
}

}  // namespace

bool PodioClient::TakeRetryToken() {
  absl::MutexLock lock(&retry_mu_);
  if (retry_tokens_ < 1) return false;
  retry_tokens_ -= 1;
  return true;
}

void PodioClient::CreditRetryBudget() {
  absl::MutexLock lock(&retry_mu_);
  retry_tokens_ =
      std::min(options_.retry_reserve, retry_tokens_ + options_.retry_ratio);
}

absl::StatusOr<HttpResponse> PodioClient::Exchange(CallContext& ctx,
                                                   const HttpRequest& request,
                                                   const std::string& path,
                                                   const std::string& token) {
  const RateClass cls = options_.classifier.Classify(request.method, path);
  if (ctx.admit) RETURN_IF_ERROR(ctx.admit());
  if (ctx.budget != nullptr) {
    RETURN_IF_ERROR(ctx.budget->Acquire(ctx.budget_key, cls, ctx.priority,
                                        ctx.deadline, ctx.cancelled));
  }
  const absl::Duration left = ctx.deadline - clock_->Now();
  if (left <= absl::ZeroDuration()) {
    return WithErrorInfo(
        absl::DeadlineExceededError("deadline passed before calling Podio"),
        "DEADLINE_EXCEEDED");
  }
  HttpRequest attempt = request;
  attempt.url = options_.api_base + request.url;
  attempt.headers.emplace_back("Authorization", "OAuth2 " + token);
  if (std::none_of(attempt.headers.begin(), attempt.headers.end(),
                   [](const auto& h) {
                     return absl::EqualsIgnoreCase(h.first, "Accept");
                   })) {
    attempt.headers.emplace_back("Accept", "application/json");
  }
  attempt.timeout = std::min(left, options_.attempt_timeout);
  attempt.cancelled = ctx.cancelled;
  ++requests_sent_;
  if (ctx.upstream_calls != nullptr) ctx.upstream_calls->fetch_add(1);
  absl::StatusOr<HttpResponse> response = http_->Send(attempt);
  if (response.ok()) {
    connections_opened_ += response->new_connections;
    if (ctx.budget != nullptr) {
      (void)ctx.budget->Observe(ctx.budget_key, cls,
                                HeaderInt(*response, "x-rate-limit-limit"),
                                HeaderInt(*response, "x-rate-limit-remaining"));
      if (response->status == 420 || response->status == 429) {
        // A hard stop for the whole identity.
        (void)ctx.budget->Block(
            ctx.budget_key,
            ParseRateLimitWait(ReadPodioError(response->body).description));
      }
    }
  }
  return response;
}

void PodioClient::Prefetch(CallContext& ctx,
                           const std::string& path_and_query) {
  if (ctx.prefetch == nullptr || ctx.tokens == nullptr ||
      !ctx.prefetch->Begin(path_and_query)) {
    return;
  }
  std::optional<std::string> body;
  if (absl::StatusOr<std::string> token = ctx.tokens->AccessToken(ctx.deadline);
      token.ok()) {
    HttpRequest request;
    request.url = path_and_query;
    absl::StatusOr<HttpResponse> response =
        Exchange(ctx, request, PathOf(path_and_query), *token);
    if (response.ok() && response->status >= 200 && response->status < 300) {
      body = std::move(response->body);
    }
  }
  ctx.prefetch->Finish(path_and_query, std::move(body));
}

absl::StatusOr<json::Body> PodioClient::Get(CallContext& ctx,
                                            const std::string& path_and_query) {
  if (ctx.prefetch != nullptr) {
    if (std::optional<std::string> body = ctx.prefetch->Take(path_and_query)) {
      return Decode(std::move(*body));
    }
  }
  HttpRequest request;
  request.url = path_and_query;
  ASSIGN_OR_RETURN(HttpResponse response,
                   Send(ctx, std::move(request), /*retry=*/true));
  if (response.status >= 200 && response.status < 300) {
    return Decode(std::move(response.body));
  }
  return StatusForHttpError(response.status, response.body);
}

absl::StatusOr<HttpResponse> PodioClient::Send(CallContext& ctx,
                                               HttpRequest request,
                                               bool retry) {
  if (ctx.tokens == nullptr) {
    return absl::FailedPreconditionError("no credentials for this account");
  }
  ASSIGN_OR_RETURN(std::string token, ctx.tokens->AccessToken(ctx.deadline));
  const std::string path = PathOf(request.url);
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
    absl::StatusOr<HttpResponse> response = Exchange(ctx, request, path, token);
    if (!response.ok()) {
      const absl::StatusCode code = response.status().code();
      if (GetErrorInfo(response.status()).has_value()) {
        return response.status();  // The budget's own refusal.
      }
      if (code == absl::StatusCode::kCancelled ||
          code == absl::StatusCode::kDeadlineExceeded) {
        return WithErrorInfo(response.status(),
                             code == absl::StatusCode::kCancelled
                                 ? "CANCELLED"
                                 : "DEADLINE_EXCEEDED");
      }
      if (code == absl::StatusCode::kResourceExhausted) {
        return WithErrorInfo(
            absl::InternalError(absl::StrCat("Podio answer too large: ",
                                             response.status().message())),
            "UPSTREAM_RESPONSE_TOO_LARGE");
      }
      last_error = WithErrorInfo(
          absl::UnavailableError(
              absl::StrCat("Podio unreachable: ", response.status().message())),
          "UPSTREAM_UNREACHABLE");
      last_answer.reset();
      continue;
    }
    if (!refreshed &&
        IsExpiredToken(response->status, ReadPodioError(response->body))) {
      // One refresh, one replay; a second 401 is final (Podio also calls
      // bogus tokens expired, so looping would never end).
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
  return last_error.ok() ? WithErrorInfo(absl::DeadlineExceededError(
                                             "deadline passed while retrying "
                                             "Podio"),
                                         "DEADLINE_EXCEEDED")
                         : last_error;
}

}  // namespace unified::podio
