// A provider's auth scheme, as the account layer needs it: the authorize URL
// of the OAuth 2.0 code flow, the token endpoint's grants, and checking a
// token someone hands us. Vendor neutral; connectors implement it.
#ifndef CONNECTORS_AUTH_H_
#define CONNECTORS_AUTH_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "connectors/common/error_details.h"

namespace unified {

// What a token endpoint granted. Holds secrets: never log it.
struct Grant {
  std::string access_token;
  std::string refresh_token;  // May be "" (no refresh possible).
  absl::Time expires_at = absl::InfinitePast();
  std::string scope;
  // Who the token acts for at the provider (Podio: "user" or "app" and id).
  std::string ref_type;
  std::string ref_id;
};

// How a provider refused credentials: a typed mark a status carries beside
// its ErrorInfo, so that the account layer decides by it (a refused refresh
// token needs a new consent; a rejected imported token may be refreshed),
// never by comparing reason text.
enum class AuthRefusal {
  kNone = 0,
  kGrantRefused,         // INVALID_GRANT
  kCredentialsRejected,  // CREDENTIALS_REJECTED
};

// INVALID_ARGUMENT, reason INVALID_GRANT, marked kGrantRefused.
absl::Status GrantRefused(
    absl::string_view message,
    const std::map<std::string, std::string>& metadata = {});
// UNAUTHENTICATED, reason CREDENTIALS_REJECTED, marked
// kCredentialsRejected.
absl::Status CredentialsRejected(
    absl::string_view message,
    const std::map<std::string, std::string>& metadata = {});
// The mark `status` carries (kNone: none).
AuthRefusal AuthRefusalOf(const absl::Status& status);

// Thread-safe. Errors (ErrorInfo reasons):
//   INVALID_ARGUMENT  INVALID_GRANT: the provider refused the code, password,
//                     app token or refresh token (metadata upstream_error,
//                     upstream_error_detail); made by GrantRefused.
//   FAILED_PRECONDITION OAUTH_CLIENT_REJECTED: our client id or secret is
//                     wrong (a server configuration problem).
//   UNAUTHENTICATED   CREDENTIALS_REJECTED: Identify's token was refused;
//                     made by CredentialsRejected.
//   RESOURCE_EXHAUSTED UPSTREAM_RATE_LIMITED (+ RetryInfo).
//   UNAVAILABLE / DEADLINE_EXCEEDED: transport or 5xx; nothing is known
//                     about the credentials.
//   FAILED_PRECONDITION GRANT_NOT_SUPPORTED: the provider has no such grant
//                     (the defaults below).
class ProviderAuth {
 public:
  virtual ~ProviderAuth() = default;
  virtual std::string provider() const = 0;
  // The OAuth client (API key) id of this deployment: part of an upstream
  // identity's rate budget key.
  virtual std::string client_id() const = 0;
  // The provider's usual access-token lifetime (for imports without one).
  virtual absl::Duration default_access_lifetime() const = 0;
  // How the hosted connect page (service/api/link_flow.h) offers the
  // provider: by its consent page (the authorization code flow), or by a
  // form taking a token that Identify checks.
  struct LinkPage {
    std::string label;        // The provider's name as a person reads it.
    bool consent = false;     // The code flow; else the token form.
    std::string token_label;  // The form field's label.
  };
  virtual LinkPage link_page() const {
    return {provider(), false, "Access token"};
  }
  // The OAuth 2.0 authorization code flow: the page a browser is sent to
  // for consent, and the exchange of the code it comes back with.
  virtual absl::StatusOr<std::string> AuthorizeUrl(
      const std::string& redirect_uri, const std::string& state) const {
    return Unsupported("the authorization code flow");
  }
  virtual absl::StatusOr<Grant> ExchangeCode(const std::string& code,
                                             const std::string& redirect_uri,
                                             absl::Time deadline) {
    return Unsupported("the authorization code flow");
  }
  // The resource owner password grant.
  virtual absl::StatusOr<Grant> PasswordGrant(const std::string& username,
                                              const std::string& password,
                                              absl::Time deadline) {
    return Unsupported("the password grant");
  }
  // An application's own grant (Podio: app id and app token).
  virtual absl::StatusOr<Grant> AppGrant(const std::string& app_id,
                                         const std::string& app_token,
                                         absl::Time deadline) {
    return Unsupported("an app grant");
  }
  // The OAuth 2.0 client credentials grant of the customer's own client
  // at the provider. Refreshing repeats it: the grant's refresh_token then
  // holds what Refresh needs (sealed like any token).
  virtual absl::StatusOr<Grant> ClientCredentialsGrant(
      const std::string& client_id, const std::string& client_secret,
      absl::Time deadline) {
    return Unsupported("the client credentials grant");
  }
  virtual absl::StatusOr<Grant> Refresh(const std::string& refresh_token,
                                        absl::Time deadline) = 0;
  // Who `access_token` acts for (ref_type, ref_id; other fields empty).
  virtual absl::StatusOr<Grant> Identify(const std::string& access_token,
                                         absl::Time deadline) = 0;

 protected:
  absl::Status Unsupported(const std::string& what) const {
    return WithErrorInfo(
        absl::FailedPreconditionError("provider '" + provider() +
                                      "' does not offer " + what),
        "GRANT_NOT_SUPPORTED", {{"provider", provider()}});
  }
};

}  // namespace unified

#endif  // CONNECTORS_AUTH_H_
