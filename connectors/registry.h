// Connectors by stable provider name. Registering a name twice fails, so a
// misconfigured build stops at start-up rather than serving the wrong one.
#ifndef CONNECTORS_REGISTRY_H_
#define CONNECTORS_REGISTRY_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "connectors/connector.h"

namespace unified {

// Filled at start-up, then read-only (thread-safe for Find).
class ConnectorRegistry {
 public:
  // ALREADY_EXISTS when `connector->provider()` is taken.
  absl::Status Register(std::unique_ptr<DirectoryConnector> connector) {
    const std::string name = connector->provider();
    if (!connectors_.emplace(name, std::move(connector)).second) {
      return absl::AlreadyExistsError("connector '" + name +
                                      "' registered twice");
    }
    return absl::OkStatus();
  }

  // The connector for `provider`, or null.
  DirectoryConnector* Find(const std::string& provider) const {
    auto it = connectors_.find(provider);
    return it == connectors_.end() ? nullptr : it->second.get();
  }

 private:
  std::map<std::string, std::unique_ptr<DirectoryConnector>> connectors_;
};

}  // namespace unified

#endif  // CONNECTORS_REGISTRY_H_
