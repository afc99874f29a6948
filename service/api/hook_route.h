// POST /hooks/<provider>/<secret>: providers' hook deliveries (and the first
// releases' /<provider>/hooks/<secret>, where hooks registered then still
// deliver). The path's secret authenticates a delivery; the answer is 2xx
// only once the delivery is stored (service/watch/watch_engine.h).
#ifndef SERVICE_API_HOOK_ROUTE_H_
#define SERVICE_API_HOOK_ROUTE_H_

#include <functional>
#include <memory>

#include "service/api/http_route.h"
#include "service/watch/watch_engine.h"

namespace unified {

// Not owning `watch`, which must outlive the route. `on_delivery` (may be
// unset) is told the status each delivery was answered with.
std::unique_ptr<HttpRoute> NewHookRoute(
    watch::WatchEngine* watch, std::function<void(int status)> on_delivery);

}  // namespace unified

#endif  // SERVICE_API_HOOK_ROUTE_H_
