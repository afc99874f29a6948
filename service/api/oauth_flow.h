// The OAuth 2.0 authorization code flow, shared by
// IntegratedAccounts.CreateAuthorizationUrl / CompleteAuthorization, the
// server's own callback and the hosted connect page: starting it (the
// provider's consent URL and a signed state, oauth_state.h) and redeeming
// what the provider sends back (the state checked and used up, the code
// exchanged). Linking the grant is the caller's.
#ifndef SERVICE_API_OAUTH_FLOW_H_
#define SERVICE_API_OAUTH_FLOW_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/auth.h"
#include "connectors/common/clock.h"
#include "service/accounts/account_manager.h"
#include "service/accounts/credential_store.h"
#include "service/api/oauth_state.h"
#include "service/core/cursor.h"

namespace unified {

struct OAuthFlowOptions {
  // Provider of requests that name none (the first configured).
  std::string default_provider;
  // The server's own OAuth callback (GET /oauth/callback on the HTTP side
  // listener), used when a request names no redirect URI.
  std::string default_redirect_uri;
  // How long a state is accepted.
  absl::Duration state_ttl = absl::Minutes(10);
};

// Thread-safe. Not owning; all must outlive it.
class OAuthFlow {
 public:
  OAuthFlow(accounts::AccountManager* accounts,
            accounts::CredentialStore* store, const CursorCodec* signer,
            Clock* clock, OAuthFlowOptions options)
      : accounts_(accounts),
        store_(store),
        signer_(signer),
        clock_(clock),
        options_(std::move(options)) {}

  // The auth scheme of `provider` ("" = the default provider);
  // INVALID_ARGUMENT (UNKNOWN_PROVIDER) when no connector serves it.
  absl::StatusOr<ProviderAuth*> AuthFor(const std::string& provider) const;

  struct Started {
    std::string authorization_url;
    std::string state;
    absl::Time expires;
  };
  // `state`'s tenant, provider (resolved), account, link session and mode
  // are taken as given; its nonce, expiry and redirect URI ("" = the
  // server's callback) are filled in.
  absl::StatusOr<Started> Start(OAuthState state);

  struct Redeemed {
    OAuthState state;
    ProviderAuth* auth = nullptr;
    Grant grant;
  };
  // Checks `state` (issued here, to `tenant` unless it is empty, not
  // expired, started by the connect page exactly when `link_page`) and uses
  // it up, then exchanges `code`. INVALID_ARGUMENT (INVALID_STATE) for a
  // state that is not acceptable; the provider's errors as
  // ProviderAuth::ExchangeCode gives them.
  absl::StatusOr<Redeemed> Redeem(const std::string& tenant,
                                  const std::string& code,
                                  const std::string& state, bool link_page);

  // The state's fields when it was issued here (not checked further).
  absl::StatusOr<OAuthState> Open(const std::string& state) const {
    return OpenOAuthState(*signer_, state);
  }

  const std::string& default_provider() const {
    return options_.default_provider;
  }
  Clock* clock() const { return clock_; }

 private:
  accounts::AccountManager* const accounts_;
  accounts::CredentialStore* const store_;
  const CursorCodec* const signer_;
  Clock* const clock_;
  const OAuthFlowOptions options_;
};

// INVALID_ARGUMENT (INVALID_REDIRECT_URI) unless `uri` is an absolute
// http(s) URL without a fragment.
absl::Status CheckRedirectUri(const std::string& uri);

}  // namespace unified

#endif  // SERVICE_API_OAUTH_FLOW_H_
