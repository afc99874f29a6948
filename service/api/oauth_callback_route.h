// GET /oauth/callback: where the provider sends the customer's browser back
// in the OAuth code flow. The code is exchanged (IntegratedAccountsService,
// the server's own redirect URI) and a plain page says whether the account
// was linked; it never shows a token or the code.
#ifndef SERVICE_API_OAUTH_CALLBACK_ROUTE_H_
#define SERVICE_API_OAUTH_CALLBACK_ROUTE_H_

#include <memory>

#include "service/api/http_route.h"
#include "service/api/integrated_accounts_service.h"

namespace unified {

// Not owning `accounts`, which must outlive the route.
std::unique_ptr<HttpRoute> NewOAuthCallbackRoute(
    IntegratedAccountsService* accounts);

}  // namespace unified

#endif  // SERVICE_API_OAUTH_CALLBACK_ROUTE_H_
