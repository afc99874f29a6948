// Opaque listing cursors (docs/architecture.md, "Invariants": nothing is lost
// silently): versioned, HMAC-SHA256-signed, and bound to the tenant, the
// integrated account, the resource and the filters they were issued for. The
// payload is the connector's page token plus how many records of that page were
// already returned, so a cursor can point inside a connector page.
#ifndef SERVICE_CURSOR_H_
#define SERVICE_CURSOR_H_

#include <cstdint>
#include <optional>
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

// A position in an event log, sealed as a stream's resume token: a sequence
// number within a scope (the watch's epoch, "t" for a tenant's whole log,
// "" for the account events).
struct SealedPosition {
  std::string scope;
  int64_t seq = 0;
};

// `position` as a resume token bound to `binding`.
std::string SealPosition(const CursorCodec& codec, const CursorBinding& binding,
                         const SealedPosition& position);

// The position in `token`; nullopt when the token is damaged, was issued
// for another binding, or holds no position (a negative one included).
std::optional<SealedPosition> OpenPosition(const CursorCodec& codec,
                                           const CursorBinding& binding,
                                           const std::string& token);

// 32 random bytes from OpenSSL's CSPRNG.
std::string RandomCursorKey();

}  // namespace unified

#endif  // SERVICE_CURSOR_H_
