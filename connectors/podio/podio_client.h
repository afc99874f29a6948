// The request pipeline to Podio's API for one call: credentials injected as
// `Authorization: OAuth2 <token>`, one refresh and replay on expired_token,
// retries of 5xx and transport failures with jittered exponential backoff
// inside the caller's deadline, error classification, and defensive JSON
// parsing.
#ifndef CONNECTORS_PODIO_PODIO_CLIENT_H_
#define CONNECTORS_PODIO_PODIO_CLIENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/common/clock.h"
#include "connectors/common/http_client.h"
#include "connectors/common/json.h"
#include "connectors/connector.h"
#include "rapidjson/document.h"

namespace unified::podio {

struct PodioClientOptions {
  // Podio's API base URL, without a trailing slash.
  std::string api_base = "https://api.podio.com";
  // Attempts per request for retryable failures (5xx, transport).
  int max_attempts = 3;
  // First backoff; doubles per retry, with full jitter.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  // Upper bound of one attempt's transfer time (the deadline may be shorter).
  absl::Duration attempt_timeout = absl::Seconds(30);
};

// Thread-safe; not owning `http` or `clock`.
class PodioClient {
 public:
  PodioClient(HttpClient* http, Clock* clock, PodioClientOptions options)
      : http_(http), clock_(clock), options_(std::move(options)) {}

  // GETs `path_and_query` (e.g. "/org/" or "/org/1/member/?limit=500") and
  // parses the JSON answer. Errors per podio_errors.h; DEADLINE_EXCEEDED when
  // the deadline passes; CANCELLED when the caller went away; INTERNAL for an
  // unreadable answer.
  absl::StatusOr<json::Body> Get(CallContext& ctx,
                                 const std::string& path_and_query);

  // Downloads `path_and_query` into ctx.prefetch (one attempt, no refresh);
  // a no-op without a cache or when the path is already claimed.
  void Prefetch(CallContext& ctx, const std::string& path_and_query);

  // Number of HTTP requests sent so far (for tests and metrics).
  int64_t requests_sent() const { return requests_sent_.load(); }

  const PodioClientOptions& options() const { return options_; }

 private:
  // One exchange with the given token; the HTTP answer or a transport error.
  absl::StatusOr<HttpResponse> Exchange(CallContext& ctx,
                                        const std::string& url,
                                        const std::string& token);

  HttpClient* const http_;
  Clock* const clock_;
  const PodioClientOptions options_;
  std::atomic<int64_t> requests_sent_{0};
};

}  // namespace unified::podio

#endif  // CONNECTORS_PODIO_PODIO_CLIENT_H_
