// Podio's HTTP answers as absl::Status values: the one table of HTTP status to
// canonical code for this connector (docs/architecture.md, "Invariants": one
// conversion).
#ifndef CONNECTORS_PODIO_PODIO_ERRORS_H_
#define CONNECTORS_PODIO_PODIO_ERRORS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "connectors/common/http_client.h"
#include "connectors/common/json.h"

namespace unified::podio {

// Podio's error envelope, as far as it could be read.
struct PodioError {
  std::string error;        // e.g. "rate_limit", "unauthorized"
  std::string description;  // e.g. "expired_token"
  std::string detail;       // error_detail, e.g. "oauth.client.invalid_id"
};

// Reads Podio's envelope from an error body; empty fields when unreadable.
PodioError ReadPodioError(absl::string_view body);

// Whether a 401 asks for a token refresh (docs/podio.md §2.4): Podio says
// "expired_token" (also for bogus tokens, so refresh at most once), clients
// also honour "invalid_token".
bool IsExpiredToken(int http_status, const PodioError& error);

// "Please wait 300 seconds" in a 420 description, parsed defensively.
std::optional<absl::Duration> ParseRateLimitWait(absl::string_view description);

// The status for a non-2xx answer:
//   400 INVALID_ARGUMENT  UPSTREAM_BAD_REQUEST
//   401 UNAUTHENTICATED   UPSTREAM_UNAUTHENTICATED
//   403 PERMISSION_DENIED UPSTREAM_PERMISSION_DENIED
//   404, 410 NOT_FOUND    UPSTREAM_NOT_FOUND
//   409 ABORTED           UPSTREAM_CONFLICT
//   420, 429 RESOURCE_EXHAUSTED UPSTREAM_RATE_LIMITED (+ RetryInfo)
//   5xx UNAVAILABLE       UPSTREAM_UNAVAILABLE
//   other 4xx FAILED_PRECONDITION UPSTREAM_REJECTED
//   anything else INTERNAL UPSTREAM_UNEXPECTED_STATUS
// Every one carries ErrorInfo metadata upstream_status and upstream_error.
absl::Status StatusForHttpError(int http_status, absl::string_view body);

// A 2xx answer's body, or the answer's status (StatusForHttpError).
absl::StatusOr<std::string> AnswerBody(HttpResponse answer);

// A 2xx answer's JSON, or the answer's status (StatusForHttpError);
// INTERNAL (UPSTREAM_MALFORMED_RESPONSE) for an unreadable body.
absl::StatusOr<json::Body> ReadAnswer(HttpResponse answer);

// An INVALID_ARGUMENT the connector answers itself (a request Podio cannot
// serve), with `reason` from the error list as its ErrorInfo.
absl::Status BadArgument(absl::string_view message, absl::string_view reason);

// A positive decimal Podio id given to the connector (`what` names it in the
// message); INVALID_ARGUMENT (reason INVALID_ID) otherwise.
absl::StatusOr<int64_t> ParseId(const std::string& id, absl::string_view what);

}  // namespace unified::podio

#endif  // CONNECTORS_PODIO_PODIO_ERRORS_H_
