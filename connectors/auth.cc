#include "connectors/auth.h"

#include "absl/strings/cord.h"

namespace unified {
namespace {

constexpr absl::string_view kAuthRefusalUrl = "type.unified/auth_refusal";

absl::Status Marked(absl::Status status, AuthRefusal refusal) {
  status.SetPayload(kAuthRefusalUrl,
                    absl::Cord(std::string(1, static_cast<char>(refusal))));
  return status;
}

}  // namespace

absl::Status GrantRefused(absl::string_view message,
                          const std::map<std::string, std::string>& metadata) {
  return Marked(WithErrorInfo(absl::InvalidArgumentError(message),
                              "INVALID_GRANT", metadata),
                AuthRefusal::kGrantRefused);
}

absl::Status CredentialsRejected(
    absl::string_view message,
    const std::map<std::string, std::string>& metadata) {
  return Marked(WithErrorInfo(absl::UnauthenticatedError(message),
                              "CREDENTIALS_REJECTED", metadata),
                AuthRefusal::kCredentialsRejected);
}

AuthRefusal AuthRefusalOf(const absl::Status& status) {
  auto mark = status.GetPayload(kAuthRefusalUrl);
  if (!mark.has_value() || mark->size() != 1) return AuthRefusal::kNone;
  switch (static_cast<unsigned char>((*mark)[0])) {
    case static_cast<unsigned char>(AuthRefusal::kGrantRefused):
      return AuthRefusal::kGrantRefused;
    case static_cast<unsigned char>(AuthRefusal::kCredentialsRejected):
      return AuthRefusal::kCredentialsRejected;
    default:
      return AuthRefusal::kNone;
  }
}

}  // namespace unified
