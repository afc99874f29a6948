// What the service wants to know of upstream traffic, for its metrics:
// answers by route template and status, rate limiting and the budget. The
// connectors and the rate budget report here; the service implements it.
// Implementations are thread-safe and cheap (called on every request).
#ifndef CONNECTORS_COMMON_UPSTREAM_OBSERVER_H_
#define CONNECTORS_COMMON_UPSTREAM_OBSERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "connectors/common/http_client.h"

namespace unified {

class UpstreamObserver {
 public:
  virtual ~UpstreamObserver() = default;
  // One upstream exchange of `provider` on `route` (a template: ids replaced,
  // no query) that ended with HTTP `status`, or 0 for a transport failure;
  // `rate_limited` when the provider's protocol reads it as a refusal for
  // the rate limit (Podio's 420, SCIM's 429).
  virtual void OnUpstreamResponse(absl::string_view provider,
                                  absl::string_view route, int status,
                                  bool rate_limited) = 0;
  // The rate budget refused a call (it would have waited past its deadline).
  virtual void OnBudgetRefused() = 0;
  // The provider said this many calls are left in the identity's window.
  virtual void OnBudgetRemaining(int64_t remaining) = 0;
};

// The route templates a connector declares for the paths it calls, e.g.
// "/org/{id}/member/" ("{id}" stands for any one non-empty segment). They
// are the only route labels: a URL none of them matches (a proxied call
// elsewhere) is labelled kUnlistedRoute, so no text a caller sent ever
// becomes a label and the labels stay as few as the templates.
class RouteTable {
 public:
  explicit RouteTable(const std::vector<std::string>& templates);
  // The template matching the last segments of `url`'s path (an API base
  // may carry a path of its own, e.g. "/scim/v2"), the one with most
  // segments when several do; kUnlistedRoute when none does. The query and
  // fragment are not looked at.
  std::string Label(absl::string_view url) const;

 private:
  std::vector<std::pair<std::string, std::vector<std::string>>> templates_;
};

inline constexpr char kUnlistedRoute[] = "proxy";

// Whether an answer refuses for the rate limit, as the provider's protocol
// reads it (UpstreamProtocol::ReadRateSignal's `stop`).
using RateLimitTest = std::function<bool(const HttpResponse&)>;

// An HttpClient that reports every exchange of `inner` to `observer` under
// `provider`, labelled by `routes`, its rate refusals told by
// `rate_limited`. Not owning `inner` or `observer`.
std::unique_ptr<HttpClient> NewObservedHttpClient(
    HttpClient* inner, std::string provider,
    std::shared_ptr<const RouteTable> routes, RateLimitTest rate_limited,
    UpstreamObserver* observer);

// The same for exchanges started on an AsyncHttpClient.
std::unique_ptr<AsyncHttpClient> NewObservedAsyncHttpClient(
    AsyncHttpClient* inner, std::string provider,
    std::shared_ptr<const RouteTable> routes, RateLimitTest rate_limited,
    UpstreamObserver* observer);

}  // namespace unified

#endif  // CONNECTORS_COMMON_UPSTREAM_OBSERVER_H_
