#include "connectors/scim/scim_errors.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/json.h"

namespace unified::scim {
namespace {

// scimType keywords are camelCase letters (RFC 7644 Table 9); anything
// else is not echoed.
std::string SafeKeyword(const std::string& text) {
  if (text.empty() || text.size() > 64) return "";
  for (char c : text) {
    if (!absl::ascii_isalpha(static_cast<unsigned char>(c))) return "";
  }
  return text;
}

}  // namespace

ScimError ReadScimError(absl::string_view body) {
  ScimError out;
  absl::StatusOr<rapidjson::Document> doc = json::Parse(body);
  if (!doc.ok() || !doc->IsObject()) return out;
  out.scim_type = SafeKeyword(json::StringOr(*doc, "scimType"));
  out.detail = json::StringOr(*doc, "detail");
  return out;
}

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value) {
  int64_t seconds = 0;
  value = absl::StripAsciiWhitespace(value);
  if (value.empty() || !absl::SimpleAtoi(value, &seconds) || seconds < 0 ||
      seconds > 24 * 3600) {
    return std::nullopt;
  }
  return absl::Seconds(seconds);
}

absl::Status StatusForScimError(int http_status, absl::string_view body,
                                absl::string_view retry_after) {
  const ScimError error = ReadScimError(body);
  absl::StatusCode code = absl::StatusCode::kInternal;
  const char* reason = "UPSTREAM_UNEXPECTED_STATUS";
  if (http_status == 400) {
    code = absl::StatusCode::kInvalidArgument;
    reason = "UPSTREAM_BAD_REQUEST";
  } else if (http_status == 401) {
    code = absl::StatusCode::kUnauthenticated;
    reason = "UPSTREAM_UNAUTHENTICATED";
  } else if (http_status == 403) {
    code = absl::StatusCode::kPermissionDenied;
    reason = "UPSTREAM_PERMISSION_DENIED";
  } else if (http_status == 404) {
    code = absl::StatusCode::kNotFound;
    reason = "UPSTREAM_NOT_FOUND";
  } else if (http_status == 409 || http_status == 412) {
    code = absl::StatusCode::kAborted;
    reason = "UPSTREAM_CONFLICT";
  } else if (http_status == 429) {
    code = absl::StatusCode::kResourceExhausted;
    reason = "UPSTREAM_RATE_LIMITED";
  } else if (http_status == 501 || (http_status >= 400 && http_status <= 499)) {
    code = absl::StatusCode::kFailedPrecondition;
    reason = "UPSTREAM_REJECTED";
  } else if (http_status >= 500 && http_status <= 599) {
    code = absl::StatusCode::kUnavailable;
    reason = "UPSTREAM_UNAVAILABLE";
  }
  std::string message =
      absl::StrCat("the SCIM provider answered HTTP ", http_status);
  if (!error.scim_type.empty()) absl::StrAppend(&message, " ", error.scim_type);
  if (!error.detail.empty()) {
    absl::StrAppend(
        &message, ": ",
        error.detail.size() > 200 ? error.detail.substr(0, 200) : error.detail);
  }
  absl::Status status =
      WithErrorInfo(absl::Status(code, message), reason,
                    {{"upstream_status", absl::StrCat(http_status)},
                     {"upstream_error", error.scim_type}});
  if (code == absl::StatusCode::kResourceExhausted) {
    status = WithRetryDelay(
        status, ParseRetryAfter(retry_after).value_or(absl::Seconds(60)));
  }
  return status;
}

}  // namespace unified::scim
