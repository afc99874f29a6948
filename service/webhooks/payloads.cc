#include "service/webhooks/payloads.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "connectors/common/error_details.h"
#include "google/protobuf/util/json_util.h"
#include "service/core/proto_time.h"

namespace unified::webhooks {
namespace {

std::string Envelope(const std::string& type,
                     const google::protobuf::Timestamp& at,
                     const google::protobuf::Message& data) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(data, &json, options);
  const absl::Time time =
      absl::FromUnixSeconds(at.seconds()) + absl::Nanoseconds(at.nanos());
  return absl::StrCat(
      R"({"version":)", kPayloadVersion, R"(,"type":")", type,
      R"(","timestamp":")",
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone()),
      R"(","data":)", json, "}");
}

}  // namespace

absl::StatusOr<std::string> SecretKey(const std::string& secret) {
  absl::string_view text = secret;
  std::string key;
  if (!absl::ConsumePrefix(&text, "whsec_") ||
      !absl::Base64Unescape(text, &key) || key.size() < 24 || key.size() > 64) {
    return WithErrorInfo(
        absl::InvalidArgumentError(
            "secret must be \"whsec_\" and the base64 of 24 to 64 random "
            "bytes"),
        "INVALID_WEBHOOK_SECRET");
  }
  return key;
}

std::string Sign(const std::string& key, const std::string& id,
                 int64_t timestamp, const std::string& body) {
  const std::string content = absl::StrCat(id, ".", timestamp, ".", body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(),
       mac, &size);
  return absl::StrCat("v1,", absl::Base64Escape(absl::string_view(
                                 reinterpret_cast<const char*>(mac), size)));
}

v1::AccountEvent ToProto(const accounts::AccountEvent& e) {
  v1::AccountEvent out;
  out.set_sequence(e.seq);
  out.set_type(static_cast<v1::AccountEvent::Type>(e.type));
  out.set_integrated_account_id(e.account_id);
  out.set_reason(e.reason);
  out.set_end_customer_id(e.end_customer_id);
  *out.mutable_observed_at() = ToTimestamp(e.at);
  return out;
}

std::string Body(const v1::DirectoryEvent& event) {
  return Envelope(
      absl::StrCat(
          "directory.",
          absl::AsciiStrToLower(v1::DirectoryEvent::Type_Name(event.type()))),
      event.observed_at(), event);
}

std::string Body(const v1::AccountEvent& event) {
  return Envelope(
      absl::StrCat("account.", absl::AsciiStrToLower(
                                   v1::AccountEvent::Type_Name(event.type()))),
      event.observed_at(), event);
}

}  // namespace unified::webhooks
