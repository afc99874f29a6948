// Connector plug-ins: how a provider joins the service. A plug-in reads its
// own flags (defined in its own folder), and starts a Provider: the
// directory connector, the auth scheme, and optional capabilities. The
// built-in plug-ins are listed once (connectors/builtin.h); nothing else in
// the service names a provider (docs/architecture.md, "Adding a
// connector").
#ifndef CONNECTORS_PLUGIN_H_
#define CONNECTORS_PLUGIN_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/auth.h"
#include "connectors/common/clock.h"
#include "connectors/common/http_client.h"
#include "connectors/common/rate_budget.h"
#include "connectors/common/upstream_observer.h"
#include "connectors/connector.h"
#include "connectors/webhooks.h"

namespace unified {

// One started provider: everything its plug-in built, owned together.
class Provider {
 public:
  virtual ~Provider() = default;
  // Stable name, stored with each account, e.g. "podio".
  virtual std::string name() const = 0;
  virtual DirectoryConnector& directory() = 0;
  // Null when accounts of this provider cannot be linked or refreshed
  // (e.g. a test's fake connector).
  virtual ProviderAuth* auth() = 0;
  // Null when the provider has no webhooks (the poll alone watches).
  virtual WebhookSupport* webhooks() { return nullptr; }
  // The URLs it sends requests to (its API base, a token endpoint): the
  // service allows its --testing_* flags only when each is on loopback (a
  // simulator).
  virtual std::vector<std::string> upstreams() const { return {}; }
  // The calls per window the provider allows each identity, as it documents
  // them; nullopt when it documents none (the service's default applies).
  // The operator's --rate_limit and --rate_limited_limit win over these.
  virtual std::optional<RateLimits> rate_limits() const { return std::nullopt; }
};

// What the service lends a plug-in when starting it. Pointers outlive the
// provider.
struct ConnectorHost {
  Clock* clock = nullptr;
  // Counts every upstream exchange (wrap HTTP clients with
  // NewObservedHttpClient); null = not counted.
  UpstreamObserver* observer = nullptr;
};

// A provider's HTTP clients, blocking and async (libcurl's easy and multi
// interfaces), every exchange counted by the host's observer when it has
// one. Move-only.
class ProviderHttp {
 public:
  // `routes`: the provider's route templates (RouteTable), the only
  // route labels its exchanges are counted under; `rate_limited`: its
  // protocol's reading of a rate refusal.
  ProviderHttp(const CurlHttpClientOptions& options,
               const std::string& provider,
               const std::vector<std::string>& routes,
               RateLimitTest rate_limited, UpstreamObserver* observer);
  HttpClient* get() const {
    return observed_ != nullptr ? observed_.get() : curl_.get();
  }
  AsyncHttpClient* async() const {
    return observed_async_ != nullptr ? observed_async_.get() : multi_.get();
  }

 private:
  std::unique_ptr<HttpClient> curl_;
  std::unique_ptr<HttpClient> observed_;
  // Declared before the client it wraps: the multi client goes first, and
  // the completions it ends on the way still find the wrapper.
  std::unique_ptr<AsyncHttpClient> observed_async_;
  std::unique_ptr<AsyncHttpClient> multi_;
};

// `url` with its trailing slashes cut.
std::string WithoutTrailingSlashes(std::string url);

// A provider's API base: https, or plain http to a loopback address only
// (a simulator in tests and the demo). INVALID_ARGUMENT naming `flag`.
absl::Status CheckApiBase(const std::string& flag, const std::string& base);

class ConnectorPlugin {
 public:
  virtual ~ConnectorPlugin() = default;
  virtual std::string name() const = 0;
  // Starts the provider from its flags. Null (not an error) when the
  // deployment configured none of them: the provider is then off.
  // INVALID_ARGUMENT or FAILED_PRECONDITION for a configuration that cannot
  // work (the server stops at start-up, naming the flag).
  virtual absl::StatusOr<std::unique_ptr<Provider>> Start(
      const ConnectorHost& host) = 0;
};

}  // namespace unified

#endif  // CONNECTORS_PLUGIN_H_
