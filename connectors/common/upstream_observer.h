// What the service wants to know of upstream traffic, for its metrics:
// answers by route template and status, rate limiting and the budget. The
// connectors and the rate budget report here; the service implements it.
// Implementations are thread-safe and cheap (called on every request).
#ifndef CONNECTORS_COMMON_UPSTREAM_OBSERVER_H_
#define CONNECTORS_COMMON_UPSTREAM_OBSERVER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "connectors/common/http_client.h"

namespace unified {

class UpstreamObserver {
 public:
  virtual ~UpstreamObserver() = default;
  // One upstream exchange of `provider` on `route` (a template: ids replaced,
  // no query) that ended with HTTP `status`, or 0 for a transport failure.
  virtual void OnUpstreamResponse(absl::string_view provider,
                                  absl::string_view route, int status) = 0;
  // The rate budget refused a call (it would have waited past its deadline).
  virtual void OnBudgetRefused() = 0;
  // The provider said this many calls are left in the identity's window.
  virtual void OnBudgetRemaining(int64_t remaining) = 0;
};

// The route template of `url`: its path with every all-digit segment (or
// comma-separated list of them) and every segment over 40 characters
// replaced by "{id}", without the query. At most 8 segments are kept, so
// the number of templates stays bounded whatever the caller sends.
std::string RouteTemplate(absl::string_view url);

// An HttpClient that reports every exchange of `inner` to `observer` under
// `provider`. Not owning either.
std::unique_ptr<HttpClient> NewObservedHttpClient(HttpClient* inner,
                                                  std::string provider,
                                                  UpstreamObserver* observer);

// The same for exchanges started on an AsyncHttpClient.
std::unique_ptr<AsyncHttpClient> NewObservedAsyncHttpClient(
    AsyncHttpClient* inner, std::string provider, UpstreamObserver* observer);

}  // namespace unified

#endif  // CONNECTORS_COMMON_UPSTREAM_OBSERVER_H_
