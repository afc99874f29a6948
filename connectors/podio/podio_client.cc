#include "connectors/podio/podio_client.h"

#include <algorithm>

#include "absl/random/random.h"
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

}  // namespace

absl::StatusOr<HttpResponse> PodioClient::Exchange(CallContext& ctx,
                                                   const std::string& url,
                                                   const std::string& token) {
  const absl::Duration left = ctx.deadline - clock_->Now();
  if (left <= absl::ZeroDuration()) {
    return WithErrorInfo(
        absl::DeadlineExceededError("deadline passed before calling Podio"),
        "DEADLINE_EXCEEDED");
  }
  HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.headers = {{"Authorization", "OAuth2 " + token},
                     {"Accept", "application/json"}};
  request.timeout = std::min(left, options_.attempt_timeout);
  request.cancelled = ctx.cancelled;
  ++requests_sent_;
  return http_->Send(request);
}

void PodioClient::Prefetch(CallContext& ctx,
                           const std::string& path_and_query) {
  if (ctx.prefetch == nullptr || ctx.tokens == nullptr ||
      !ctx.prefetch->Begin(path_and_query)) {
    return;
  }
  std::optional<std::string> body;
  if (absl::StatusOr<std::string> token = ctx.tokens->AccessToken();
      token.ok()) {
    absl::StatusOr<HttpResponse> response =
        Exchange(ctx, options_.api_base + path_and_query, *token);
    if (response.ok() && response->status >= 200 && response->status < 300) {
      body = std::move(response->body);
    }
  }
  ctx.prefetch->Finish(path_and_query, std::move(body));
}

absl::StatusOr<json::Body> PodioClient::Get(CallContext& ctx,
                                            const std::string& path_and_query) {
  if (ctx.tokens == nullptr) {
    return absl::FailedPreconditionError("no credentials for this account");
  }
  if (ctx.prefetch != nullptr) {
    if (std::optional<std::string> body = ctx.prefetch->Take(path_and_query)) {
      return Decode(std::move(*body));
    }
  }
  ASSIGN_OR_RETURN(std::string token, ctx.tokens->AccessToken());
  const std::string url = options_.api_base + path_and_query;
  bool refreshed = false;
  absl::BitGen bitgen;
  absl::Status last;
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    if (attempt > 0) {
      // Full jitter: a uniform wait up to the exponential ceiling.
      const absl::Duration ceiling = options_.initial_backoff * (1 << attempt);
      const absl::Duration wait = absl::Nanoseconds(absl::Uniform<int64_t>(
          bitgen, 0, std::max<int64_t>(1, absl::ToInt64Nanoseconds(ceiling))));
      if (clock_->Now() + wait >= ctx.deadline) break;  // No time to retry.
      if (!clock_->SleepUntil(clock_->Now() + wait, ctx.cancelled)) {
        return absl::CancelledError("cancelled by the caller");
      }
    }
    absl::StatusOr<HttpResponse> response = Exchange(ctx, url, token);
    if (!response.ok()) {
      if (response.status().code() == absl::StatusCode::kCancelled ||
          response.status().code() == absl::StatusCode::kDeadlineExceeded) {
        return WithErrorInfo(
            response.status(),
            response.status().code() == absl::StatusCode::kCancelled
                ? "CANCELLED"
                : "DEADLINE_EXCEEDED");
      }
      if (response.status().code() == absl::StatusCode::kResourceExhausted) {
        return WithErrorInfo(
            absl::InternalError(absl::StrCat("Podio answer too large: ",
                                             response.status().message())),
            "UPSTREAM_RESPONSE_TOO_LARGE");
      }
      last = WithErrorInfo(
          absl::UnavailableError(
              absl::StrCat("Podio unreachable: ", response.status().message())),
          "UPSTREAM_UNREACHABLE");
      continue;
    }
    if (response->status >= 200 && response->status < 300) {
      return Decode(std::move(response->body));
    }
    const PodioError podio = ReadPodioError(response->body);
    if (!refreshed && IsExpiredToken(response->status, podio)) {
      // One refresh, one replay; a second 401 is final (Podio also calls
      // bogus tokens expired, so looping would never end).
      refreshed = true;
      ASSIGN_OR_RETURN(token, ctx.tokens->Refresh(token));
      --attempt;  // The replay is not a retry of a failure.
      continue;
    }
    last = StatusForHttpError(response->status, response->body);
    if (!IsRetryable(last)) return last;
  }
  return last.ok() ? WithErrorInfo(absl::DeadlineExceededError(
                                       "deadline passed while retrying Podio"),
                                   "DEADLINE_EXCEEDED")
                   : last;
}

}  // namespace unified::podio
