// API keys -> tenants. Callers send `authorization: Bearer <key>` metadata;
// keys are configured as SHA-256 hashes (never in plaintext) and compared in
// constant time, so neither the configuration nor timing reveals a key.
#ifndef SERVICE_TENANTS_H_
#define SERVICE_TENANTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"

namespace unified {

// Thread-safe (immutable after construction).
class TenantAuthenticator {
 public:
  // Parses "TENANT_ID sha256:HEX" lines ('#' comments). INVALID_ARGUMENT
  // for a malformed line (the line is not echoed) or a repeated hash.
  static absl::StatusOr<TenantAuthenticator> Parse(absl::string_view text);

  // The tenant of the call's API key. UNAUTHENTICATED with reason
  // API_KEY_MISSING (no `authorization: Bearer` metadata) or API_KEY_INVALID.
  absl::StatusOr<std::string> Authenticate(
      const grpc::ServerContextBase& context) const;
  absl::StatusOr<std::string> TenantOfKey(absl::string_view key) const;

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string tenant;
    std::string hash;  // 32 raw bytes.
  };
  std::vector<Entry> entries_;
};

// A new random API key ("uk_" + 40 hex digits) and its configuration line.
struct NewApiKey {
  std::string key;
  std::string line;  // "TENANT_ID sha256:HEX"
};
NewApiKey GenerateApiKey(const std::string& tenant);

}  // namespace unified

#endif  // SERVICE_TENANTS_H_
