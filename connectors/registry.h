// Started providers by stable name. Registering a name twice fails, so a
// misconfigured build stops at start-up rather than serving the wrong one.
#ifndef CONNECTORS_REGISTRY_H_
#define CONNECTORS_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "connectors/connector.h"
#include "connectors/plugin.h"

namespace unified {

// Filled at start-up, then read-only (thread-safe for the lookups).
class ConnectorRegistry {
 public:
  // ALREADY_EXISTS when `provider->name()` is taken. The first registered
  // is the default provider.
  absl::Status Register(std::unique_ptr<Provider> provider) {
    const std::string name = provider->name();
    if (!providers_.emplace(name, std::move(provider)).second) {
      return absl::AlreadyExistsError("connector '" + name +
                                      "' registered twice");
    }
    order_.push_back(name);
    return absl::OkStatus();
  }

  // A bare directory connector, without auth or webhooks (tests).
  absl::Status Register(std::unique_ptr<DirectoryConnector> connector) {
    return Register(std::make_unique<BareProvider>(std::move(connector)));
  }

  // The provider named `name`, or null.
  Provider* FindProvider(const std::string& name) const {
    auto it = providers_.find(name);
    return it == providers_.end() ? nullptr : it->second.get();
  }

  // The directory connector of `provider`, or null.
  DirectoryConnector* Find(const std::string& provider) const {
    Provider* p = FindProvider(provider);
    return p == nullptr ? nullptr : &p->directory();
  }

  // The auth schemes of the providers that have one, by name.
  std::map<std::string, ProviderAuth*> Auths() const {
    std::map<std::string, ProviderAuth*> out;
    for (const auto& [name, p] : providers_) {
      if (p->auth() != nullptr) out[name] = p->auth();
    }
    return out;
  }

  // Names in registration order; the first is the default provider.
  const std::vector<std::string>& names() const { return order_; }

 private:
  class BareProvider final : public Provider {
   public:
    explicit BareProvider(std::unique_ptr<DirectoryConnector> c)
        : connector_(std::move(c)) {}
    std::string name() const override { return connector_->provider(); }
    DirectoryConnector& directory() override { return *connector_; }
    ProviderAuth* auth() override { return nullptr; }

   private:
    std::unique_ptr<DirectoryConnector> connector_;
  };

  std::map<std::string, std::unique_ptr<Provider>> providers_;
  std::vector<std::string> order_;
};

}  // namespace unified

#endif  // CONNECTORS_REGISTRY_H_
