// The built-in connector plug-ins, in order: the first one configured is the
// default provider (of RPCs that name none).
#ifndef CONNECTORS_BUILTIN_H_
#define CONNECTORS_BUILTIN_H_

#include <memory>
#include <vector>

#include "connectors/plugin.h"

namespace unified {

std::vector<std::unique_ptr<ConnectorPlugin>> BuiltinConnectors();

}  // namespace unified

#endif  // CONNECTORS_BUILTIN_H_
