#include "connectors/common/error_details.h"

#include <cstdint>
#include <string>

#include "absl/strings/cord.h"

namespace unified {

UpstreamErrorClass ClassifyUpstreamStatus(int http_status) {
  switch (http_status) {
    case 400:
      return {absl::StatusCode::kInvalidArgument, "UPSTREAM_BAD_REQUEST"};
    case 401:
      return {absl::StatusCode::kUnauthenticated, "UPSTREAM_UNAUTHENTICATED"};
    case 403:
      return {absl::StatusCode::kPermissionDenied,
              "UPSTREAM_PERMISSION_DENIED"};
    case 404:
    case 410:
      return {absl::StatusCode::kNotFound, "UPSTREAM_NOT_FOUND"};
    case 409:
      return {absl::StatusCode::kAborted, "UPSTREAM_CONFLICT"};
    case 429:
      return {absl::StatusCode::kResourceExhausted, "UPSTREAM_RATE_LIMITED",
              /*rate_limited=*/true};
  }
  if (http_status >= 400 && http_status <= 499) {
    return {absl::StatusCode::kFailedPrecondition, "UPSTREAM_REJECTED"};
  }
  if (http_status >= 500 && http_status <= 599) {
    return {absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE"};
  }
  return {absl::StatusCode::kInternal, "UPSTREAM_UNEXPECTED_STATUS"};
}

namespace {
constexpr absl::string_view kRateRefusalUrl = "type.unified/rate_refusal";
}  // namespace

absl::Status AsRateRefusal(absl::Status status) {
  if (status.ok()) return status;
  status.SetPayload(kRateRefusalUrl, absl::Cord("1"));
  return status;
}

bool IsRateRefusal(const absl::Status& status) {
  return status.GetPayload(kRateRefusalUrl).has_value();
}

absl::Status WithErrorInfo(absl::Status status, absl::string_view reason,
                           const std::map<std::string, std::string>& metadata) {
  if (status.ok()) return status;
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(kErrorDomain);
  for (const auto& [key, value] : metadata) {
    (*info.mutable_metadata())[key] = value;
  }
  status.SetPayload(kErrorInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

absl::Status WithErrorMetadata(absl::Status status, const std::string& key,
                               const std::string& value,
                               absl::string_view reason_if_none) {
  if (status.ok()) return status;
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  std::map<std::string, std::string> metadata;
  if (info) metadata.insert(info->metadata().begin(), info->metadata().end());
  metadata[key] = value;
  return WithErrorInfo(std::move(status),
                       info ? info->reason() : std::string(reason_if_none),
                       metadata);
}

absl::Status WithRetryDelay(absl::Status status, absl::Duration delay) {
  if (status.ok()) return status;
  if (delay < absl::ZeroDuration()) delay = absl::ZeroDuration();
  const int64_t millis =
      absl::ToInt64Milliseconds(absl::Ceil(delay, absl::Milliseconds(1)));
  google::rpc::RetryInfo info;
  info.mutable_retry_delay()->set_seconds(millis / 1000);
  info.mutable_retry_delay()->set_nanos(static_cast<int32_t>(millis % 1000) *
                                        1000000);
  status.SetPayload(kRetryInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

std::optional<google::rpc::ErrorInfo> GetErrorInfo(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kErrorInfoTypeUrl);
  if (!payload) return std::nullopt;
  google::rpc::ErrorInfo info;
  if (!info.ParseFromString(std::string(*payload))) return std::nullopt;
  return info;
}

std::optional<absl::Duration> GetRetryDelay(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kRetryInfoTypeUrl);
  if (!payload) return std::nullopt;
  google::rpc::RetryInfo info;
  if (!info.ParseFromString(std::string(*payload))) return std::nullopt;
  return absl::Seconds(info.retry_delay().seconds()) +
         absl::Nanoseconds(info.retry_delay().nanos());
}

}  // namespace unified
