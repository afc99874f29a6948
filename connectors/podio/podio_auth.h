// Podio's auth scheme (docs/podio.md §2): the authorize page on the web host,
// POST /oauth/token (form-encoded) on the API host for the
// authorization_code, password, app and refresh_token grants, and
// GET /user/status to identify an imported token.
#ifndef CONNECTORS_PODIO_PODIO_AUTH_H_
#define CONNECTORS_PODIO_PODIO_AUTH_H_

#include <memory>
#include <string>

#include "connectors/auth.h"
#include "connectors/common/clock.h"
#include "connectors/common/http_client.h"

namespace unified::podio {

struct PodioAuthOptions {
  std::string api_base = "https://api.podio.com";  // No trailing slash.
  std::string web_base = "https://podio.com";      // No trailing slash.
  // The API key (OAuth client) of this deployment. Secret: never logged.
  std::string client_id;
  std::string client_secret;
};

// Not owning `http` or `clock`.
std::unique_ptr<ProviderAuth> NewPodioAuth(HttpClient* http, Clock* clock,
                                           PodioAuthOptions options);

}  // namespace unified::podio

#endif  // CONNECTORS_PODIO_PODIO_AUTH_H_
