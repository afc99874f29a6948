// The SCIM plug-in: its flags (--scim_*) and the provider they start.
// Listed in connectors/builtin.cc.
#ifndef CONNECTORS_SCIM_SCIM_PLUGIN_H_
#define CONNECTORS_SCIM_SCIM_PLUGIN_H_

#include <memory>

#include "connectors/plugin.h"

namespace unified::scim {

std::unique_ptr<ConnectorPlugin> NewScimPlugin();

}  // namespace unified::scim

#endif  // CONNECTORS_SCIM_SCIM_PLUGIN_H_
