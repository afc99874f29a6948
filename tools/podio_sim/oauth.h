// OAuth 2.0 state of the simulator: registered clients, the password and app
// credentials it knows, authorization codes, access and refresh tokens.
// Thread-safe. Times come from the simulated clock.
#ifndef TOOLS_PODIO_SIM_OAUTH_H_
#define TOOLS_PODIO_SIM_OAUTH_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace unified::podio_sim {

// An error answer in Podio's envelope (see docs/podio.md §4.1).
struct ApiError {
  int http_status = 400;
  std::string error;
  std::string description;
  std::optional<std::string> detail;
};

// Who a token acts for: a Podio user or app, through an API client.
struct Identity {
  std::string ref_type;  // "user" | "app"
  int64_t ref_id = 0;
  std::string client_id;

  // Rate-limit key: "user:<id>/<client>" or "app:<id>/<client>".
  std::string Key() const;
};

struct OAuthOptions {
  std::string client_id = "demo-client";
  std::string client_secret = "demo-secret";
  // Redirect URIs must be on this host (Podio: the API key's domain).
  std::string redirect_host = "127.0.0.1";
  absl::Duration access_lifetime = absl::Hours(8);
  absl::Duration refresh_lifetime = absl::Hours(24 * 28);
  absl::Duration code_lifetime = absl::Minutes(10);
  // Each refresh issues a new refresh token and retires the one used (real
  // Podio was not seen to rotate, docs/podio.md; its clients store whatever
  // comes back, and so must the service).
  bool rotate_refresh_tokens = false;
};

struct PasswordLogin {
  std::string username;  // e-mail
  std::string password;
  int64_t user_id = 0;
  // Two-factor sign-in: the password grant answers a `server_nonce`
  // instead of tokens (podio-rb, docs/podio.md).
  bool mfa = false;
};

struct AppLogin {
  int64_t app_id = 0;
  std::string app_token;
  int64_t space_id = 0;  // The space the app lives in.
};

struct TokenResponse {
  // Set alone (no tokens) when the password grant needs a second factor.
  std::string server_nonce;
  std::string access_token;
  std::string refresh_token;
  int64_t expires_in = 0;
  std::string scope;
  Identity identity;
};

class OAuthState {
 public:
  OAuthState(OAuthOptions options, std::vector<PasswordLogin> passwords,
             std::vector<AppLogin> apps);

  const OAuthOptions& options() const { return options_; }

  // Checks an authorize request; returns the error to show, if any.
  std::optional<ApiError> CheckAuthorize(const std::string& client_id,
                                         const std::string& redirect_uri) const;

  // Issues a single-use authorization code for `user_id`.
  std::string IssueCode(const std::string& client_id,
                        const std::string& redirect_uri, int64_t user_id,
                        absl::Time now);

  // The token endpoint: `params` are the form (or JSON) fields.
  // Errors: invalid_client (bad id or secret), invalid_grant (bad code,
  // refresh token, password; expired), unsupported_grant_type,
  // invalid_request (missing fields).
  std::variant<TokenResponse, ApiError> Token(
      const std::map<std::string, std::string>& params, absl::Time now);

  // Resolves an access token. Unknown and expired tokens give nullopt (Podio
  // answers both with 401 expired_token).
  std::optional<Identity> Authenticate(const std::string& access_token,
                                       absl::Time now) const;

  // Who a token request would act for, without checking its secrets: the
  // refresh token's principal, the user named by `username`, or the app
  // named by `app_id`, through `client_id`. Nullopt if none is known.
  std::optional<Identity> PrincipalOf(
      const std::map<std::string, std::string>& params) const;

  // The scope string granted to a token (for GET /oauth/scope).
  std::optional<std::string> ScopeOf(const std::string& access_token) const;

  // App -> space it lives in (0 if unknown).
  int64_t SpaceOfApp(int64_t app_id) const;

 private:
  struct Code {
    std::string client_id;
    std::string redirect_uri;
    int64_t user_id;
    absl::Time expires;
  };
  struct Access {
    Identity identity;
    absl::Time expires;
    std::string scope;
  };
  struct Refresh {
    Identity identity;
    absl::Time expires;
    std::string scope;
  };

  TokenResponse Issue(const Identity& identity, const std::string& refresh,
                      absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const OAuthOptions options_;
  const std::vector<PasswordLogin> passwords_;
  const std::vector<AppLogin> apps_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Code> codes_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Access> access_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Refresh> refresh_ ABSL_GUARDED_BY(mu_);
};

// A fresh random token of 64 hex characters (OpenSSL's CSPRNG).
std::string RandomToken();

}  // namespace unified::podio_sim

#endif  // TOOLS_PODIO_SIM_OAUTH_H_
