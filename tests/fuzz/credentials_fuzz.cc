// Fuzz target: the outside input of the account layer. Podio's token
// endpoint answers (any status, any body) through the Podio auth scheme; an
// API key as sent in metadata; a stored ciphertext; a key ring text. None may
// crash, and a token answer is either a complete grant or an error with a
// reason.
#include <cstddef>
#include <cstdint>
#include <string>

#include "connectors/common/error_details.h"
#include "connectors/common/http_client.h"
#include "connectors/podio/podio_auth.h"
#include "service/accounts/sealer.h"
#include "service/core/tenants.h"

namespace {

class FixedHttp final : public unified::HttpClient {
 public:
  int status = 200;
  std::string body;
  absl::StatusOr<unified::HttpResponse> Send(
      const unified::HttpRequest&) override {
    unified::HttpResponse r;
    r.status = status;
    r.body = body;
    return r;
  }
};

class FixedClock final : public unified::Clock {
 public:
  absl::Time Now() override { return absl::FromUnixSeconds(1767225600); }
  bool SleepUntil(absl::Time, const std::function<bool()>&) override {
    return true;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  static FixedHttp* http = new FixedHttp;
  static FixedClock* clock = new FixedClock;
  static auto* auth = unified::podio::NewPodioAuth(http, clock, {}).release();
  http->status = data[0] % 4 == 0 ? 400 : data[0] % 4 == 1 ? 401 : 200;
  http->body = text;
  absl::StatusOr<unified::Grant> grant =
      auth->Refresh("refresh", absl::InfiniteFuture());
  if (grant.ok()) {
    if (grant->access_token.empty() || grant->ref_type.empty()) {
      __builtin_trap();
    }
  } else if (!unified::GetErrorInfo(grant.status()).has_value()) {
    __builtin_trap();
  }
  (void)auth->Identify("token", absl::InfiniteFuture());

  static auto* tenants = new unified::TenantAuthenticator(
      *unified::TenantAuthenticator::Parse(unified::GenerateApiKey("t").line));
  if (tenants->TenantOfKey(text).ok()) __builtin_trap();
  (void)unified::TenantAuthenticator::Parse(text);

  static auto* sealer = new unified::accounts::Sealer(
      *unified::accounts::Sealer::Create({{"k1", std::string(32, 'k')}}));
  if (sealer->Open({"t", "a", "access_token"}, text).ok()) __builtin_trap();
  (void)unified::accounts::Sealer::KeyIdOf(text);
  (void)unified::accounts::ParseKeyRing(text);
  return 0;
}
