#include "connectors/scim/scim_listings.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/error_details.h"
#include "connectors/common/json.h"
#include "connectors/common/status_macros.h"
#include "connectors/scim/scim_errors.h"
#include "connectors/scim/scim_mappers.h"

namespace unified::scim {
namespace internal {

absl::Status BadCursor() {
  return WithErrorInfo(
      absl::InvalidArgumentError("page token not issued for this listing"),
      "INVALID_CURSOR");
}

absl::Status Unexpected(const std::string& path) {
  return absl::InternalError(
      absl::StrCat("listing fed an answer it did not want: ", path));
}

}  // namespace internal

absl::Status AnswerStatus(const HttpResponse& answer) {
  if (answer.status >= 200 && answer.status < 300) return absl::OkStatus();
  return StatusForScimError(answer.status, answer.body,
                            answer.Header("retry-after"));
}

absl::StatusOr<json::Body> ReadAnswer(HttpResponse answer) {
  RETURN_IF_ERROR(AnswerStatus(answer));
  absl::StatusOr<json::Body> doc = json::ParseOwned(std::move(answer.body));
  if (!doc.ok()) {
    return WithErrorInfo(doc.status(), "UPSTREAM_MALFORMED_RESPONSE");
  }
  CanonicalizeNames(doc->mutable_root(), doc->allocator());
  return doc;
}

std::string EncodePosition(char kind, const Position& p) {
  std::string out;
  if (p.by_cursor) {
    out = absl::StrCat(std::string(1, kind), "2:", p.skip, ":",
                       absl::WebSafeBase64Escape(p.cursor));
  } else {
    out = absl::StrCat(std::string(1, kind), "1:", p.start, ":", p.skip);
    if (!p.anchor.empty() || !p.resource.empty()) {
      absl::StrAppend(&out, ":", std::max<int64_t>(p.total, 0), ":",
                      absl::WebSafeBase64Escape(p.anchor));
    }
  }
  if (!p.resource.empty()) {
    absl::StrAppend(&out, ":", absl::WebSafeBase64Escape(p.resource));
  }
  return out;
}

absl::StatusOr<Position> DecodePosition(char kind, const std::string& token) {
  Position p;
  if (token.empty()) return p;
  std::vector<absl::string_view> parts = absl::StrSplit(token, ':');
  if ((parts.size() == 3 || parts.size() == 4) &&
      parts[0] == absl::StrCat(std::string(1, kind), "2")) {
    p.by_cursor = true;
    if (!absl::SimpleAtoi(parts[1], &p.skip) || p.skip < 0 ||
        !absl::WebSafeBase64Unescape(parts[2], &p.cursor) ||
        (parts.size() == 4 &&
         (!absl::WebSafeBase64Unescape(parts[3], &p.resource) ||
          p.resource.empty()))) {
      return internal::BadCursor();
    }
    return p;
  }
  if (parts.size() == 6) {
    if (!absl::WebSafeBase64Unescape(parts[5], &p.resource) ||
        p.resource.empty()) {
      return internal::BadCursor();
    }
    parts.pop_back();
    if (parts[4].empty()) {
      // No anchor: the position is read from the start of the answer.
      if (!absl::SimpleAtoi(parts[3], &p.total) || p.total < 0) {
        return internal::BadCursor();
      }
      parts.resize(3);
    }
  }
  if ((parts.size() != 3 && parts.size() != 5) ||
      parts[0] != absl::StrCat(std::string(1, kind), "1") ||
      !absl::SimpleAtoi(parts[1], &p.start) ||
      !absl::SimpleAtoi(parts[2], &p.skip) || p.start < 1 || p.skip < 0) {
    return internal::BadCursor();
  }
  if (parts.size() == 5 &&
      (!absl::SimpleAtoi(parts[3], &p.total) || p.total < 0 ||
       !absl::WebSafeBase64Unescape(parts[4], &p.anchor) || p.anchor.empty())) {
    return internal::BadCursor();
  }
  return p;
}

}  // namespace unified::scim
