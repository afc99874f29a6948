// The one list of built-in connectors: the only place that names them.
#include "connectors/builtin.h"

#include "connectors/podio/podio_plugin.h"
#include "connectors/scim/scim_plugin.h"

namespace unified {

std::vector<std::unique_ptr<ConnectorPlugin>> BuiltinConnectors() {
  std::vector<std::unique_ptr<ConnectorPlugin>> plugins;
  plugins.push_back(podio::NewPodioPlugin());
  plugins.push_back(scim::NewScimPlugin());
  return plugins;
}

}  // namespace unified
