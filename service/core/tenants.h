// API keys -> tenants. Callers send `authorization: Bearer <key>` metadata;
// keys are configured as SHA-256 hashes (never in plaintext) and compared in
// constant time, so neither the configuration nor timing reveals a key.
#ifndef SERVICE_CORE_TENANTS_H_
#define SERVICE_CORE_TENANTS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"

namespace unified {

// Thread-safe. The key set is replaced whole by Replace (a live reload);
// each call sees the old set or the new one.
class TenantAuthenticator {
 public:
  // Parses "TENANT_ID sha256:HEX" lines ('#' comments). INVALID_ARGUMENT
  // for a malformed line (the line is not echoed) or a repeated hash.
  static absl::StatusOr<TenantAuthenticator> Parse(absl::string_view text);

  // The tenant of the call's API key. UNAUTHENTICATED with reason
  // API_KEY_MISSING (no `authorization: Bearer` metadata) or API_KEY_INVALID.
  // When `key_hash` is given, it receives the key's SHA-256 (for Holds).
  absl::StatusOr<std::string> Authenticate(
      const grpc::ServerContextBase& context,
      std::string* key_hash = nullptr) const;
  absl::StatusOr<std::string> TenantOfKey(absl::string_view key,
                                          std::string* key_hash = nullptr) const;

  // Whether the key whose SHA-256 is `key_hash` still names `tenant`: false
  // once it was removed, or given to another tenant, by a reload.
  bool Holds(absl::string_view tenant, absl::string_view key_hash) const;
  // Moves on at every Replace: a caller holding an earlier value asks Holds
  // again; one holding this value need not.
  uint64_t generation() const {
    return generation_.load(std::memory_order_acquire);
  }

  size_t size() const { return std::atomic_load(&entries_)->size(); }

  // Takes `other`'s keys: from now on only they authenticate.
  void Replace(const TenantAuthenticator& other) {
    std::atomic_store(&entries_, std::atomic_load(&other.entries_));
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }

  TenantAuthenticator() = default;
  TenantAuthenticator(TenantAuthenticator&& other) noexcept
      : entries_(std::atomic_load(&other.entries_)) {}
  TenantAuthenticator& operator=(TenantAuthenticator&& other) noexcept {
    Replace(other);
    return *this;
  }

 private:
  struct Entry {
    std::string tenant;
    std::string hash;  // 32 raw bytes.
  };
  std::shared_ptr<const std::vector<Entry>> entries_ =
      std::make_shared<const std::vector<Entry>>();
  std::atomic<uint64_t> generation_{0};
};

// A new random API key ("uk_" + 40 hex digits) and its configuration line.
struct NewApiKey {
  std::string key;
  std::string line;  // "TENANT_ID sha256:HEX"
};
NewApiKey GenerateApiKey(const std::string& tenant);

}  // namespace unified

#endif  // SERVICE_CORE_TENANTS_H_
