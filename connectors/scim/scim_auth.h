// How SCIM accounts are linked (docs/scim.md, "Linking"): a bearer token the
// customer's SCIM service provider issued (ImportTokens), or the OAuth 2.0
// client credentials grant of the customer's API client at the provider's
// token endpoint (LinkWithClientCredentials), renewed by repeating the
// grant. No code flow, password or app grant: those answer
// GRANT_NOT_SUPPORTED.
#ifndef CONNECTORS_SCIM_SCIM_AUTH_H_
#define CONNECTORS_SCIM_SCIM_AUTH_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "connectors/auth.h"
#include "connectors/common/clock.h"
#include "connectors/common/http_client.h"

namespace unified::scim {

struct ScimAuthOptions {
  // The SCIM base URL (".../scim/v2"), without a trailing slash.
  std::string api_base;
  // The provider's OAuth token endpoint; "" = no client credentials grant
  // (bearer tokens only).
  std::string token_url;
  // Lifetime assumed for an imported token given without one: SCIM bearer
  // tokens are usually long-lived, revoked rather than expired.
  absl::Duration default_access_lifetime = absl::Hours(24 * 365);
};

// Not owning `http` or `clock`.
std::unique_ptr<ProviderAuth> NewScimAuth(HttpClient* http, Clock* clock,
                                          ScimAuthOptions options);

}  // namespace unified::scim

#endif  // CONNECTORS_SCIM_SCIM_AUTH_H_
