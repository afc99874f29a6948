// Opaque listing cursors (docs/architecture.md, "Invariants": nothing is lost
// silently): versioned, HMAC-SHA256-signed, and bound to the tenant, the
// integrated account, the resource and the filters they were issued for. The
// payload is the connector's page token plus how many records of that page were
// already returned, so a cursor can point inside a connector page.
#ifndef SERVICE_CORE_CURSOR_H_
#define SERVICE_CORE_CURSOR_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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
  explicit CursorCodec(std::string key);

  // A URL-safe base64 cursor.
  std::string Seal(const CursorBinding& binding,
                   const CursorState& state) const;

  // The state inside `cursor`; "" opens as the first page. INVALID_ARGUMENT
  // (reason INVALID_CURSOR) when it is malformed, truncated, of another
  // version, or was issued for another binding; FAILED_PRECONDITION
  // (reason CURSOR_KEY_UNKNOWN) when it was sealed under another key (see
  // SealedUnderAnotherKey).
  absl::StatusOr<CursorState> Open(const CursorBinding& binding,
                                   const std::string& cursor) const;

  // Whether `cursor` is well formed but names a key other than this codec's:
  // the server that issued it had another cursor key (it restarted without
  // a kept one, or replicas were given different ones). Not the caller's
  // mistake, and nothing it could change but start again.
  bool SealedUnderAnotherKey(const std::string& cursor) const;

 private:
  std::string Mac(char version, const CursorBinding& binding,
                  const std::string& payload) const;
  const std::string key_;
  // The first bytes of the key's SHA-256: names the key in each cursor,
  // without telling anything of it.
  const std::string key_id_;
};

// FAILED_PRECONDITION, reason CURSOR_KEY_UNKNOWN: `what` ("cursor",
// "resume_token") was sealed under a cursor key this server does not have.
absl::Status CursorKeyUnknown(absl::string_view what);

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

// The cursor key kept in `dir`/cursor.key, so that cursors and resume tokens
// outlive a restart: read when the file exists (at least 32 bytes, readable
// by its owner only), else created with 32 random bytes, mode 0600. Of two
// processes creating it at once, both end with the one written first.
// FAILED_PRECONDITION for a file that is too short, open to others, or
// cannot be written.
absl::StatusOr<std::string> KeptCursorKey(const std::string& dir);

// 32 random bytes from OpenSSL's CSPRNG.
std::string RandomCursorKey();

}  // namespace unified

#endif  // SERVICE_CORE_CURSOR_H_
