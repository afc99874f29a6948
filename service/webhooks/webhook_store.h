// The durable side of outbound webhooks, in the credential store's database
// (schema version 8, SQLite or PostgreSQL): each tenant's endpoint, its
// sealed signing secret, and how far deliveries went in the tenant's two
// event logs (the directory log's tseq, the account log's seq). The logs
// themselves are the outbox: an event is written once, in the transaction
// that made the change, and is delivered by moving the endpoint's cursor
// past it after a 2xx answer. The cursor moves only under a lease held by
// one replica at a time, so a replica that dies mid-delivery leaves the
// cursor where it was and the next holder sends the same event, with the
// same id, again (at least once).
#ifndef SERVICE_WEBHOOKS_WEBHOOK_STORE_H_
#define SERVICE_WEBHOOKS_WEBHOOK_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/store/sql.h"

namespace unified::webhooks {

enum class EndpointStatus : int { kActive = 1, kFailing = 2 };

struct Endpoint {
  std::string tenant;
  std::string url;
  std::string sealed_secret;
  EndpointStatus status = EndpointStatus::kActive;
  int64_t dir_tseq = 0;  // Directory events delivered up to this tseq.
  int64_t acct_seq = 0;  // Account events delivered up to this seq.
  int attempts = 0;      // Failed attempts of the next event.
  absl::Time first_failure = absl::InfinitePast();  // Past: no failure.
  absl::Time next_attempt = absl::InfinitePast();
  std::string last_error;
  // The secret a rotation replaced, still signed with until
  // `previous_until` (""/past: none).
  std::string previous_sealed_secret;
  absl::Time previous_until = absl::InfinitePast();
};

// What a rotation keeps of the secret it replaces.
struct PreviousSecret {
  std::string sealed;
  absl::Time until = absl::InfinitePast();
};

// Thread-safe; every method is one transaction.
class WebhookStore {
 public:
  explicit WebhookStore(store::SqlDatabase* db) : db_(db) {}

  // Sets the tenant's endpoint, active, with no failure. The same URL keeps
  // its cursors; another URL (or a first one) starts at `dir_tseq` and
  // `acct_seq`. `previous` is the replaced secret still to sign with, when
  // the secret was rotated.
  absl::Status Set(const std::string& tenant, const std::string& url,
                   const std::string& sealed_secret, int64_t dir_tseq,
                   int64_t acct_seq, const PreviousSecret& previous = {});
  absl::StatusOr<std::optional<Endpoint>> Get(const std::string& tenant);
  // False when there was none.
  absl::StatusOr<bool> Delete(const std::string& tenant);

  // Active endpoints due (next attempt passed) and not leased, leased to
  // `owner` until now + lease.
  absl::StatusOr<std::vector<Endpoint>> Claim(absl::Time now,
                                              absl::Duration lease,
                                              const std::string& owner,
                                              int limit);
  // A 2xx for the event at `position` of the directory log (`directory`) or
  // the account log: moves that cursor and clears the failures. False when
  // `owner` no longer holds the lease (nothing changed).
  absl::StatusOr<bool> Delivered(const std::string& tenant,
                                 const std::string& owner, bool directory,
                                 int64_t position);
  // A failed attempt: records it and when to try again; with `give_up`
  // the endpoint becomes FAILING and the tenant's account log gets
  // WEBHOOK_ENDPOINT_FAILING (same transaction). False when `owner` no
  // longer holds the lease.
  absl::StatusOr<bool> Failed(const std::string& tenant,
                              const std::string& owner,
                              const std::string& error, absl::Time now,
                              absl::Time next_attempt, bool give_up);
  // Gives the lease back (nothing to deliver now).
  absl::Status Release(const std::string& tenant, const std::string& owner);

 private:
  store::SqlDatabase* const db_;
};

}  // namespace unified::webhooks

#endif  // SERVICE_WEBHOOKS_WEBHOOK_STORE_H_
