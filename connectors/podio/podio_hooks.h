// Podio hooks (docs/podio.md §6) for WatchDirectory: managing space hooks
// through the connector's credential-injecting pipeline, and reading what
// Podio POSTs to a hook URL. Each call is one Podio request; Podio's
// refusals are mapped by StatusForHttpError.
#ifndef CONNECTORS_PODIO_PODIO_HOOKS_H_
#define CONNECTORS_PODIO_PODIO_HOOKS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "connectors/connector.h"
#include "connectors/webhooks.h"

namespace unified::podio {

// The space events WatchDirectory registers (docs/podio.md §6.2).
inline constexpr const char* kMemberHookTypes[] = {
    "member.add", "member.remove", "role.change"};

struct HookInfo {
  int64_t hook_id = 0;
  std::string status;  // "active" | "inactive"
  std::string type;
  std::string url;
};

// A form-encoded delivery: `type` and `hook_id` always; `code` for
// hook.verify; `space_id` and `user_id` (and `role`) for member events.
struct HookDelivery {
  std::string type;
  int64_t hook_id = 0;
  std::string code;
  int64_t space_id = 0;
  int64_t user_id = 0;
};

// POST /hook/space/{space_id}/ -> the new hook's id. Podio then POSTs
// hook.verify to `url` at once.
absl::StatusOr<int64_t> CreateSpaceHook(DirectoryConnector& connector,
                                        CallContext& ctx,
                                        const std::string& space_id,
                                        const std::string& url,
                                        const std::string& type);
// GET /hook/space/{space_id}/
absl::StatusOr<std::vector<HookInfo>> ListSpaceHooks(
    DirectoryConnector& connector, CallContext& ctx,
    const std::string& space_id);
// POST /hook/{hook_id}/verify/validate {"code": ...}: activates the hook.
absl::Status ValidateHook(DirectoryConnector& connector, CallContext& ctx,
                          const std::string& hook_id, const std::string& code);
// DELETE /hook/{hook_id}; a hook Podio no longer has counts as deleted.
absl::Status DeleteHook(DirectoryConnector& connector, CallContext& ctx,
                        const std::string& hook_id);

// Parsers of Podio's answers and deliveries (outside input; fuzzed).
absl::StatusOr<int64_t> ParseCreatedHook(absl::string_view json);
absl::StatusOr<std::vector<HookInfo>> ParseHookList(absl::string_view json);
// INVALID_ARGUMENT for anything but a well-formed delivery of at most
// 64 KiB with a type and a positive hook_id.
absl::StatusOr<HookDelivery> ParseHookDelivery(absl::string_view form_body);

// Podio's space hooks as WatchDirectory's WebhookSupport, sending through
// `connector`'s proxy (which must outlive it).
std::unique_ptr<WebhookSupport> NewPodioWebhooks(DirectoryConnector* connector);

}  // namespace unified::podio

#endif  // CONNECTORS_PODIO_PODIO_HOOKS_H_
