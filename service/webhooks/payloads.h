// What a webhook carries: Standard Webhooks signatures and the JSON bodies
// of directory and account events.
#ifndef SERVICE_WEBHOOKS_PAYLOADS_H_
#define SERVICE_WEBHOOKS_PAYLOADS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/unified/v1/integrated_accounts.pb.h"
#include "proto/unified/v1/user_directory.pb.h"
#include "service/accounts/credential_store.h"

namespace unified::webhooks {

// The key bytes of a "whsec_<base64>" secret (24 to 64 bytes), or
// INVALID_ARGUMENT (reason INVALID_WEBHOOK_SECRET).
absl::StatusOr<std::string> SecretKey(const std::string& secret);

// The webhook-signature header's value: "v1," and the base64 of
// HMAC-SHA256(key, id "." timestamp "." body).
std::string Sign(const std::string& key, const std::string& id,
                 int64_t timestamp, const std::string& body);

// The event as WatchIntegratedAccounts shows it (no resume token).
v1::AccountEvent ToProto(const accounts::AccountEvent& e);

// The body's "version". Adding a field keeps it; any other change to the
// body's shape makes a new version (docs/webhooks.md).
inline constexpr int kPayloadVersion = 1;

// The body: {"version": kPayloadVersion, "type": "directory.member_added"
// or "account.linked", ..., "timestamp": RFC 3339, "data": the event as
// proto JSON}; docs/webhooks.schema.json is its schema.
std::string Body(const v1::DirectoryEvent& event);
std::string Body(const v1::AccountEvent& event);

}  // namespace unified::webhooks

#endif  // SERVICE_WEBHOOKS_PAYLOADS_H_
