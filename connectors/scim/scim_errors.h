// SCIM answers as absl::Status values: the one table of HTTP status to
// canonical code for this connector (RFC 7644 §3.12; docs/scim.md).
#ifndef CONNECTORS_SCIM_SCIM_ERRORS_H_
#define CONNECTORS_SCIM_SCIM_ERRORS_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace unified::scim {

// The SCIM error envelope, as far as it could be read.
struct ScimError {
  std::string scim_type;  // e.g. "invalidFilter"; "" when absent.
  std::string detail;
};

// Reads the envelope from an error body; empty fields when unreadable.
ScimError ReadScimError(absl::string_view body);

// A Retry-After value in seconds (RFC 9110 §10.2.3); nullopt for an HTTP
// date or anything unreadable (the budget's default then applies).
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value);

// The status for a non-2xx answer:
//   400 INVALID_ARGUMENT  UPSTREAM_BAD_REQUEST (metadata scim_type)
//   401 UNAUTHENTICATED   UPSTREAM_UNAUTHENTICATED
//   403 PERMISSION_DENIED UPSTREAM_PERMISSION_DENIED
//   404 NOT_FOUND         UPSTREAM_NOT_FOUND
//   409, 412 ABORTED      UPSTREAM_CONFLICT
//   429 RESOURCE_EXHAUSTED UPSTREAM_RATE_LIMITED (+ RetryInfo: Retry-After,
//                         else a minute)
//   5xx but 501 UNAVAILABLE UPSTREAM_UNAVAILABLE
//   501 and other 4xx FAILED_PRECONDITION UPSTREAM_REJECTED
//   anything else INTERNAL UPSTREAM_UNEXPECTED_STATUS
// Every one carries ErrorInfo metadata upstream_status and upstream_error.
absl::Status StatusForScimError(int http_status, absl::string_view body,
                                absl::string_view retry_after = "");

}  // namespace unified::scim

#endif  // CONNECTORS_SCIM_SCIM_ERRORS_H_
