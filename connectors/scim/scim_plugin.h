// The SCIM plug-in: its flags (--scim_*) and the provider they start.
// Listed in connectors/builtin.cc.
#ifndef CONNECTORS_SCIM_SCIM_PLUGIN_H_
#define CONNECTORS_SCIM_SCIM_PLUGIN_H_

#include <memory>
#include <string>
#include <vector>

#include "connectors/plugin.h"

namespace unified::scim {

std::unique_ptr<ConnectorPlugin> NewScimPlugin();

// The paths the SCIM connector calls, as route templates (RouteTable in
// connectors/common/upstream_observer.h), with the path of `token_url`
// (the configured token endpoint; "" for none).
std::vector<std::string> ScimRouteTemplates(const std::string& token_url);

}  // namespace unified::scim

#endif  // CONNECTORS_SCIM_SCIM_PLUGIN_H_
