// A provider's webhooks, as WatchDirectory uses them: register a hook per
// workspace and member event, list them, confirm a verification, delete
// them, and read what the provider POSTs to a hook URL. Optional: a
// provider without webhooks is watched by the reconciliation poll alone.
// Vendor neutral; connectors implement it (docs/architecture.md, "Seams").
#ifndef CONNECTORS_WEBHOOKS_H_
#define CONNECTORS_WEBHOOKS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "connectors/common/call_context.h"

namespace unified {

// One hook as the provider reports it.
struct Webhook {
  std::string id;
  std::string event_type;
  // False once the provider stopped delivering (failed deliveries) or
  // before it was verified.
  bool active = false;
};

// What the provider POSTed to a hook URL.
struct WebhookDelivery {
  // The hook it names (checked against the hook the URL's secret belongs
  // to).
  std::string hook_id;
  // A verification handshake: Confirm() with it, nothing changed.
  bool verify = false;
  std::string verify_code;
  // For member events: where and whom (either may be empty when the
  // provider does not say).
  std::string workspace_id;
  std::string user_id;
};

// Thread-safe. Each call is one provider request through the connector's
// pipeline; errors are the connector's mapped statuses.
class WebhookSupport {
 public:
  virtual ~WebhookSupport() = default;
  // The event types registered per workspace: member added, removed, and
  // role changed, in the provider's names.
  virtual std::vector<std::string> MemberEventTypes() const = 0;
  // Registers a hook of `event_type` on the workspace, delivering to `url`;
  // the new hook's id. The provider may deliver a verification to `url`
  // before this returns.
  virtual absl::StatusOr<std::string> Create(CallContext& ctx,
                                             const std::string& workspace_id,
                                             const std::string& url,
                                             const std::string& event_type) = 0;
  virtual absl::StatusOr<std::vector<Webhook>> List(
      CallContext& ctx, const std::string& workspace_id) = 0;
  // Completes a verification delivery: the hook becomes active.
  virtual absl::Status Confirm(CallContext& ctx,
                               const WebhookDelivery& delivery) = 0;
  // Deletes a hook; one the provider no longer has counts as deleted.
  virtual absl::Status Delete(CallContext& ctx, const std::string& hook_id) = 0;
  // Reads a delivery body (outside input: fuzzed). INVALID_ARGUMENT for
  // anything but a well-formed delivery.
  virtual absl::StatusOr<WebhookDelivery> ParseDelivery(
      absl::string_view body) const = 0;
};

}  // namespace unified

#endif  // CONNECTORS_WEBHOOKS_H_
