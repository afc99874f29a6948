// Link sessions (IntegratedAccounts.CreateLinkSession): what the hosted
// connect page (service/api/link_route.h) needs to link one account for one
// of a tenant's customers, kept in the store so that every replica serves
// the page and a session is used once across all of them. The link token
// itself is never stored: rows are keyed by its SHA-256.
#ifndef SERVICE_LINK_LINK_STORE_H_
#define SERVICE_LINK_LINK_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/store/sql.h"

namespace unified::link {

struct LinkSession {
  std::string token_hash;  // Hex SHA-256 of the link token.
  std::string tenant;
  std::string end_customer_id;
  std::string display_name;
  std::vector<std::string> providers;  // Offered, in the page's order.
  std::string account_id;              // Re-authorize this one; "" = new.
  std::string return_url;
  std::string state;  // The caller's, echoed back.
  absl::Time expires = absl::UnixEpoch();
  absl::Time used = absl::UnixEpoch();  // UnixEpoch: not used yet.
  int64_t failures = 0;
  std::string linked_account_id;  // Set when used.

  bool used_up() const { return used != absl::UnixEpoch(); }
};

// A new link token (URL-safe, 256 random bits) and its hash; both empty
// when no randomness could be had.
struct NewToken {
  std::string token;
  std::string hash;
};
NewToken MakeLinkToken();
// The hash a session row is keyed by.
std::string HashLinkToken(const std::string& token);

// Thread-safe. Not owning the database.
class LinkSessionStore {
 public:
  explicit LinkSessionStore(store::SqlDatabase* db) : db_(db) {}

  // Stores a new session; forgets sessions expired a day before `now`.
  absl::Status Create(const LinkSession& session, absl::Time now);
  // NOT_FOUND (LINK_TOKEN_UNKNOWN) when no session has that hash.
  absl::StatusOr<LinkSession> Get(const std::string& token_hash);
  // Takes the session for one link, once across every replica:
  // ALREADY_EXISTS (LINK_TOKEN_USED) when it was taken before. Then either
  // Finish (the account linked) or Release (the link failed: the customer
  // may try again with the same token).
  absl::Status Claim(const std::string& token_hash, absl::Time now);
  absl::Status Finish(const std::string& token_hash,
                      const std::string& account_id);
  absl::Status Release(const std::string& token_hash);
  // Counts one failed attempt (a refused token, a provider error); returns
  // the count.
  absl::StatusOr<int64_t> AddFailure(const std::string& token_hash);

 private:
  store::SqlDatabase* const db_;
};

}  // namespace unified::link

#endif  // SERVICE_LINK_LINK_STORE_H_
