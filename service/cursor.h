// Opaque listing cursors (ARCHITECTURE.md, invariant 4): versioned,
// HMAC-SHA256-signed, and bound to the tenant, the integrated account, the
// resource and the filters they were issued for. The payload is the
// connector's page token plus how many records of that page were already
// returned, so a cursor can point inside a connector page.
#ifndef SERVICE_CURSOR_H_
#define SERVICE_CURSOR_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace unified {

// What a cursor is valid for.
struct CursorBinding {
  std::string tenant;
  std::string account_id;
  std::string resource;  // e.g. "users"
  std::string filters;   // Canonical text of the request's filters.
};

struct CursorState {
  std::string page_token;  // Connector page token ("" = first page).
  uint32_t skip = 0;       // Records of that page already returned.
};

// Thread-safe (immutable after construction).
class CursorCodec {
 public:
  // `key` signs cursors; at least 32 bytes.
  explicit CursorCodec(std::string key) : key_(std::move(key)) {}

  // A URL-safe base64 cursor.
  std::string Seal(const CursorBinding& binding,
                   const CursorState& state) const;

  // The state inside `cursor`; "" opens as the first page. INVALID_ARGUMENT
  // (reason INVALID_CURSOR) when it is malformed, truncated, of another
  // version, or was issued for another binding.
  absl::StatusOr<CursorState> Open(const CursorBinding& binding,
                                   const std::string& cursor) const;

 private:
  std::string Mac(const CursorBinding& binding,
                  const std::string& payload) const;
  const std::string key_;
};

// 32 random bytes from OpenSSL's CSPRNG.
std::string RandomCursorKey();

}  // namespace unified

#endif  // SERVICE_CURSOR_H_
