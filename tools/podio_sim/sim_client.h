// Client-side helpers for programs that drive the simulator (benchmarks,
// integration tests): what a user would do by hand with curl.
#ifndef TOOLS_PODIO_SIM_SIM_CLIENT_H_
#define TOOLS_PODIO_SIM_SIM_CLIENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "connectors/common/http_client.h"

namespace unified::podio_sim {

// An access token by the password grant (client demo-client/demo-secret).
absl::StatusOr<std::string> PasswordGrantToken(
    HttpClient& http, const std::string& base_url,
    const std::string& username = "demo@example.com",
    const std::string& password = "demo-password");

}  // namespace unified::podio_sim

#endif  // TOOLS_PODIO_SIM_SIM_CLIENT_H_
