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
  // SCIM's own rows (RFC 7644 §3.12): 412 is a version conflict, 501 an
  // operation the provider does not serve. The rest is the shared table.
  UpstreamErrorClass cls =
      ClassifyUpstreamStatus(http_status == 412 ? 409 : http_status);
  if (http_status == 501) {
    cls = {absl::StatusCode::kFailedPrecondition, "UPSTREAM_REJECTED"};
  }
  const absl::StatusCode code = cls.code;
  const char* reason = cls.reason;
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
  if (cls.rate_limited) {
    status = AsRateRefusal(WithRetryDelay(
        status, ParseRetryAfter(retry_after).value_or(absl::Seconds(60))));
  }
  return status;
}

}  // namespace unified::scim
