// Structured error details carried inside absl::Status values.
//
// Connectors and the service attach gRPC's standard error details
// (google.rpc.ErrorInfo, google.rpc.RetryInfo) to an absl::Status as payloads
// keyed by their type URL. The single absl -> gRPC conversion at the server's
// edge (service/core/grpc_status.h) packs every such payload into the
// google.rpc.Status of the response, so clients in any language read a reason
// and a retry delay without parsing text.
//
// Never put a secret into a reason, metadata value or message.
#ifndef CONNECTORS_COMMON_ERROR_DETAILS_H_
#define CONNECTORS_COMMON_ERROR_DETAILS_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"

namespace unified {

// The ErrorInfo.domain of every error this service produces.
inline constexpr char kErrorDomain[] = "unified.v1";

// Type URLs under which the details are stored as payloads.
inline constexpr char kErrorInfoTypeUrl[] =
    "type.googleapis.com/google.rpc.ErrorInfo";
inline constexpr char kRetryInfoTypeUrl[] =
    "type.googleapis.com/google.rpc.RetryInfo";

// A provider's HTTP error status as a canonical code and reason, by the
// table every connector shares (its own table settles the statuses
// particular to its provider first):
//   400 INVALID_ARGUMENT   UPSTREAM_BAD_REQUEST
//   401 UNAUTHENTICATED    UPSTREAM_UNAUTHENTICATED
//   403 PERMISSION_DENIED  UPSTREAM_PERMISSION_DENIED
//   404, 410 NOT_FOUND     UPSTREAM_NOT_FOUND
//   409 ABORTED            UPSTREAM_CONFLICT
//   429 RESOURCE_EXHAUSTED UPSTREAM_RATE_LIMITED
//   other 4xx FAILED_PRECONDITION UPSTREAM_REJECTED (a refusal of this
//                          request)
//   5xx UNAVAILABLE        UPSTREAM_UNAVAILABLE (an outage)
//   anything else INTERNAL UPSTREAM_UNEXPECTED_STATUS (e.g. a redirect,
//                          which is never followed)
struct UpstreamErrorClass {
  absl::StatusCode code;
  const char* reason;
  // The provider refused for its rate limit (429): mark the status
  // (AsRateRefusal).
  bool rate_limited = false;
};
UpstreamErrorClass ClassifyUpstreamStatus(int http_status);

// A refusal for a rate limit (the provider's 420 or 429, the rate budget,
// the watch poll's share): a typed mark beside the ErrorInfo, so that
// callers tell it from other RESOURCE_EXHAUSTED errors without reading
// reasons. OK is returned unchanged.
absl::Status AsRateRefusal(absl::Status status);
bool IsRateRefusal(const absl::Status& status);

// Returns `status` with a google.rpc.ErrorInfo {reason, domain, metadata}
// attached, replacing any earlier one. `reason` is UPPER_SNAKE_CASE. An OK
// status is returned unchanged.
absl::Status WithErrorInfo(
    absl::Status status, absl::string_view reason,
    const std::map<std::string, std::string>& metadata = {});

// Returns `status` with `key: value` added to its ErrorInfo's metadata,
// keeping its reason (or with reason `reason_if_none` when it has no
// ErrorInfo). An OK status is returned unchanged.
absl::Status WithErrorMetadata(absl::Status status, const std::string& key,
                               const std::string& value,
                               absl::string_view reason_if_none);

// Returns `status` with a google.rpc.RetryInfo whose retry_delay is `delay`
// (rounded up to whole milliseconds, never negative). OK is unchanged.
absl::Status WithRetryDelay(absl::Status status, absl::Duration delay);

// The attached ErrorInfo, if any.
std::optional<google::rpc::ErrorInfo> GetErrorInfo(const absl::Status& status);

// The attached retry delay, if any.
std::optional<absl::Duration> GetRetryDelay(const absl::Status& status);

}  // namespace unified

#endif  // CONNECTORS_COMMON_ERROR_DETAILS_H_
