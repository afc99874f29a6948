// The hosted connect page's routes on the HTTP side listener (link_flow.h):
// GET /link, POST /link/start, POST /link/token, and the page's style and
// script under /link/assets/.
#ifndef SERVICE_API_LINK_ROUTE_H_
#define SERVICE_API_LINK_ROUTE_H_

#include <memory>

#include "service/api/http_route.h"
#include "service/api/link_flow.h"

namespace unified {

// Not owning `flow`, which must outlive the route.
std::unique_ptr<HttpRoute> NewLinkRoute(LinkFlow* flow);

}  // namespace unified

#endif  // SERVICE_API_LINK_ROUTE_H_
