// The Podio plug-in: its flags (--podio_*, --rate_limited_routes) and the
// provider they start (connector, auth, hooks). Listed in
// connectors/builtin.cc.
#ifndef CONNECTORS_PODIO_PODIO_PLUGIN_H_
#define CONNECTORS_PODIO_PODIO_PLUGIN_H_

#include <memory>
#include <string>
#include <vector>

#include "connectors/plugin.h"

namespace unified::podio {

std::unique_ptr<ConnectorPlugin> NewPodioPlugin();

// The paths the Podio connector calls, as route templates (RouteTable in
// connectors/common/upstream_observer.h): the only route labels of Podio's
// upstream metrics.
const std::vector<std::string>& PodioRouteTemplates();

}  // namespace unified::podio

#endif  // CONNECTORS_PODIO_PODIO_PLUGIN_H_
