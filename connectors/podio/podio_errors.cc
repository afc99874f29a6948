#include "connectors/podio/podio_errors.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/json.h"
#include "connectors/common/status_macros.h"

namespace unified::podio {
namespace {

// Podio's codes are short words; anything else is not echoed.
std::string SafeCode(absl::string_view code) {
  if (code.size() > 64) return "";
  for (char c : code) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '.' && c != ' ') return "";
  }
  return std::string(code);
}

std::string Truncate(absl::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  // Cut on a UTF-8 boundary.
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  return absl::StrCat(text.substr(0, end), "...");
}

}  // namespace

PodioError ReadPodioError(absl::string_view body) {
  PodioError error;
  absl::StatusOr<rapidjson::Document> doc = json::Parse(body);
  if (!doc.ok()) return error;
  error.error = json::StringOr(*doc, "error");
  error.description = json::StringOr(*doc, "error_description");
  error.detail = json::StringOr(*doc, "error_detail");
  return error;
}

bool IsExpiredToken(int http_status, const PodioError& error) {
  return http_status == 401 &&
         (absl::StrContains(error.description, "expired_token") ||
          error.error == "invalid_token");
}

std::optional<absl::Duration> ParseRateLimitWait(
    absl::string_view description) {
  const size_t wait = description.find("wait ");
  if (wait == absl::string_view::npos) return std::nullopt;
  size_t start = wait + 5, end = start;
  while (end < description.size() && end - start < 9 &&
         absl::ascii_isdigit(description[end])) {
    ++end;
  }
  int64_t seconds = 0;
  if (end < description.size() && absl::ascii_isdigit(description[end])) {
    return std::nullopt;  // Implausibly long: not trusted.
  }
  if (end == start ||
      !absl::SimpleAtoi(description.substr(start, end - start), &seconds)) {
    return std::nullopt;
  }
  return absl::Seconds(seconds);
}

absl::Status StatusForHttpError(int http_status, absl::string_view body) {
  const PodioError podio = ReadPodioError(body);
  // Podio's 420 is its 429 (docs/podio.md §5); the rest is the shared
  // table.
  const UpstreamErrorClass cls =
      ClassifyUpstreamStatus(http_status == 420 ? 429 : http_status);
  const absl::StatusCode code = cls.code;
  const std::string reason = cls.reason;
  std::string message = absl::StrCat("Podio answered HTTP ", http_status);
  const std::string safe_code = SafeCode(podio.error);
  if (!safe_code.empty()) absl::StrAppend(&message, " ", safe_code);
  if (!podio.description.empty()) {
    absl::StrAppend(&message, ": ", Truncate(podio.description, 200));
  }
  absl::Status status =
      WithErrorInfo(absl::Status(code, message), reason,
                    {{"upstream_status", absl::StrCat(http_status)},
                     {"upstream_error", safe_code}});
  if (cls.rate_limited) {
    // Podio names the wait in prose; without it, a conservative minute.
    status = AsRateRefusal(WithRetryDelay(
        status,
        ParseRateLimitWait(podio.description).value_or(absl::Seconds(60))));
  }
  return status;
}

absl::Status BadArgument(absl::string_view message, absl::string_view reason) {
  return WithErrorInfo(absl::InvalidArgumentError(message), reason);
}

absl::StatusOr<int64_t> ParseId(const std::string& id, absl::string_view what) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(id, &value) || value <= 0) {
    return WithErrorInfo(absl::InvalidArgumentError(absl::StrCat(
                             what, " must be a positive decimal id")),
                         "INVALID_ID");
  }
  return value;
}

absl::StatusOr<std::string> AnswerBody(HttpResponse answer) {
  if (answer.status < 200 || answer.status >= 300) {
    return StatusForHttpError(answer.status, answer.body);
  }
  return std::move(answer.body);
}

absl::StatusOr<json::Body> ReadAnswer(HttpResponse answer) {
  ASSIGN_OR_RETURN(std::string body, AnswerBody(std::move(answer)));
  absl::StatusOr<json::Body> doc = json::ParseOwned(std::move(body));
  if (!doc.ok()) {
    return WithErrorInfo(doc.status(), "UPSTREAM_MALFORMED_RESPONSE");
  }
  return doc;
}

}  // namespace unified::podio
