// The OAuth 2.0 code flow's `state`: signed by the server's cursor key,
// expiring, and single-use (its nonce is consumed in the store when the
// flow completes). It names the tenant, the redirect URI the code is bound
// to, the account to re-authorize and the provider; for a flow started by
// the hosted connect page, also the link session (by its token's hash) and
// how the page was opened. It is signed, not encrypted: it holds nothing
// secret.
#ifndef SERVICE_API_OAUTH_STATE_H_
#define SERVICE_API_OAUTH_STATE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/core/cursor.h"

namespace unified {

struct OAuthState {
  std::string tenant;
  std::string nonce;
  absl::Time expires = absl::UnixEpoch();
  std::string redirect_uri;
  std::string account_id;
  std::string provider;  // "" in states of the first releases: the default.
  std::string link_hash;  // The link session's; "" outside the connect page.
  std::string mode;       // The connect page's "popup" or "redirect".
};

// A fresh random nonce (hex).
std::string NewStateNonce();

std::string SealOAuthState(const CursorCodec& signer, const OAuthState& state);

// INVALID_ARGUMENT (INVALID_STATE) when `text` was not sealed by this
// service's key or is malformed. Neither expiry nor use is checked here.
absl::StatusOr<OAuthState> OpenOAuthState(const CursorCodec& signer,
                                          const std::string& text);

}  // namespace unified

#endif  // SERVICE_API_OAUTH_STATE_H_
