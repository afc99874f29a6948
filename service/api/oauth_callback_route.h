// GET /oauth/callback: where the provider sends the customer's browser back
// in the OAuth code flow. The code is exchanged (IntegratedAccountsService,
// the server's own redirect URI) and a plain page says whether the account
// was linked; it never shows a token or the code.
#ifndef SERVICE_API_OAUTH_CALLBACK_ROUTE_H_
#define SERVICE_API_OAUTH_CALLBACK_ROUTE_H_

#include <memory>

#include "service/api/http_route.h"
#include "service/api/integrated_accounts_service.h"
#include "service/api/link_flow.h"
#include "service/api/oauth_flow.h"

namespace unified {

// Not owning `accounts`, `oauth` or `link` (null: no connect page), which
// must outlive the route. A state started by the connect page is finished
// by `link`.
std::unique_ptr<HttpRoute> NewOAuthCallbackRoute(
    IntegratedAccountsService* accounts, OAuthFlow* oauth, LinkFlow* link);

}  // namespace unified

#endif  // SERVICE_API_OAUTH_CALLBACK_ROUTE_H_
