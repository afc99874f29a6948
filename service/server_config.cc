#include "service/server_config.h"

#include <optional>
#include <string>

#include "connectors/common/status_macros.h"

namespace unified {

RateBudgetOptions ServerConfig::BudgetFor(
    const ConnectorRegistry& connectors) const {
  RateBudgetOptions out = budget;
  for (const std::string& name : connectors.names()) {
    RateLimits limits{out.limit, out.restricted_limit};
    if (std::optional<RateLimits> documented =
            connectors.FindProvider(name)->rate_limits()) {
      limits = *documented;
    }
    if (budget_override.limit > 0) limits.limit = budget_override.limit;
    if (budget_override.restricted_limit > 0) {
      limits.restricted_limit = budget_override.restricted_limit;
    }
    out.providers[name] = limits;
  }
  if (budget_override.limit > 0) out.limit = budget_override.limit;
  if (budget_override.restricted_limit > 0) {
    out.restricted_limit = budget_override.restricted_limit;
  }
  return out;
}

absl::Status ServerConfig::Validate() const {
  RETURN_IF_ERROR(accounts.Validate());
  if (budget_override.limit < 0 || budget_override.restricted_limit < 0) {
    return absl::InvalidArgumentError(
        "--rate_limit and --rate_limited_limit must not be negative");
  }
  if (budget.window <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--testing_rate_window must be positive");
  }
  if (http_max_connections_per_peer < 0) {
    return absl::InvalidArgumentError(
        "--http_max_connections_per_peer must be 0 (no cap) or more");
  }
  if (http_max_connections < 1 ||
      http_request_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--http_max_connections must be at least 1 and "
        "--http_request_timeout positive");
  }
  RETURN_IF_ERROR(deliverer.Validate());
  RETURN_IF_ERROR(watch.Validate());
  if (watch.hook_base_url == "local" && http_listen.empty()) {
    return absl::InvalidArgumentError(
        "--hook_base_url=local needs the side listener (--http_listen)");
  }
  RETURN_IF_ERROR(pool.Validate());
  return serving.Validate();
}

}  // namespace unified
