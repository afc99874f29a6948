// The credential store: integrated accounts and their sealed credentials in
// SQLite (embedded default) or PostgreSQL (shared by replicas), behind one
// implementation over the SQL seam (sql.h). Versioned schema migrations run
// when the store opens. The store never sees a plaintext credential: the
// account layer seals them (sealer.h) before they arrive here.
#ifndef SERVICE_ACCOUNTS_CREDENTIAL_STORE_H_
#define SERVICE_ACCOUNTS_CREDENTIAL_STORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/store/schema.h"
#include "service/store/sql.h"

namespace unified::accounts {

enum class AccountStatus { kActive, kNeedsReauth };

struct AccountRecord {
  std::string tenant;
  std::string id;
  std::string provider;
  AccountStatus status = AccountStatus::kActive;
  std::string status_reason;
  std::string ref_type;  // Provider identity, e.g. "user" / "app".
  std::string ref_id;
  std::string scope;
  std::string link_method;
  absl::Time access_expires_at = absl::UnixEpoch();
  absl::Time created_at = absl::UnixEpoch();
  absl::Time updated_at = absl::UnixEpoch();
  // Bumped by every write; lets readers notice a peer's refresh.
  int64_t version = 0;
  // Sealed text (sealer.h), never plaintext; "" when there is none.
  std::string sealed_access_token;
  std::string sealed_refresh_token;
  // The SaaS's own reference of the customer the account belongs to (set
  // by a link session; "" when none was given).
  std::string end_customer_id;
};

// What happened to an account, as WatchIntegratedAccounts shows it (values
// of unified.v1.AccountEvent.Type).
enum class AccountEventType : int {
  kLinked = 1,
  kRelinked = 2,
  kNeedsReauth = 3,
  kRecovered = 4,
  kDeleted = 5,
  kRateLimited = 6,
  kRateLimitCleared = 7,
  kWebhookEndpointFailing = 9,  // About the tenant: no account id.
};

// One entry of a tenant's account log: a gapless sequence per tenant,
// written in the transaction that made the change.
struct AccountEvent {
  int64_t seq = 0;
  std::string account_id;
  AccountEventType type = AccountEventType::kLinked;
  std::string reason;  // NEEDS_REAUTH: why; RATE_LIMITED: until when.
  absl::Time at;
  // The account's end_customer_id when the event was logged.
  std::string end_customer_id;
};

// Appends to the tenant's account log inside the caller's transaction on
// `c`, under the tenant's counter row: lock it after any account row, never
// before. The event keeps the account's end_customer_id as the transaction
// sees it (none once the account row is gone).
absl::Status AppendAccountEvent(store::SqlConnection& c,
                                const store::SqlDialect& dialect,
                                const std::string& tenant,
                                const std::string& id, AccountEventType type,
                                const std::string& reason, absl::Time at);

// Thread-safe.
class CredentialStore {
 public:
  // The newest schema version this build knows.
  static constexpr int kSchemaVersion = store::kSchemaVersion;

  // Applies pending migrations (serialized across processes) and returns the
  // store. FAILED_PRECONDITION when the database has a newer schema than
  // this build knows.
  static absl::StatusOr<std::unique_ptr<CredentialStore>> Open(
      std::unique_ptr<store::SqlDatabase> db);

  // Opens "sqlite:PATH", a bare path, or "postgresql://..." /
  // "postgres://...".
  static absl::StatusOr<std::unique_ptr<CredentialStore>> OpenUrl(
      const std::string& url);
  // Whether OpenUrl could take `url`, without opening anything
  // (--check_config): INVALID_ARGUMENT with the reason otherwise.
  static absl::Status CheckUrl(const std::string& url);

  // ALREADY_EXISTS when the id or the (tenant, provider, identity) is taken.
  // Logs LINKED.
  absl::Status Insert(const AccountRecord& record);

  // NOT_FOUND (reason INTEGRATED_ACCOUNT_NOT_FOUND) when the tenant has no
  // such account.
  absl::StatusOr<AccountRecord> Get(const std::string& tenant,
                                    const std::string& id);

  // The tenant's account linked as that provider identity, if any.
  absl::StatusOr<std::optional<AccountRecord>> FindByIdentity(
      const std::string& tenant, const std::string& provider,
      const std::string& ref_type, const std::string& ref_id);

  // The tenant's accounts with id > `after_id`, by id, at most `limit`;
  // only those of `end_customer_id` when it is not empty.
  absl::StatusOr<std::vector<AccountRecord>> List(
      const std::string& tenant, const std::string& after_id, int limit,
      const std::string& end_customer_id = "");

  // Every tenant's accounts after (tenant, id), for maintenance (rewrap).
  absl::StatusOr<std::vector<AccountRecord>> ListAll(
      const std::string& after_tenant, const std::string& after_id, int limit);

  // Removes the account and its credentials (logs DELETED). NOT_FOUND as
  // Get.
  absl::Status Delete(const std::string& tenant, const std::string& id);

  // Runs `fn` on the freshest record while holding the account's exclusive
  // lock, shared by every process on this database; when `fn` returns a
  // record, it is written (version bumped) before the lock is released,
  // with the account events it makes: RELINKED when `relink`, then
  // NEEDS_REAUTH (with the new status_reason) or RECOVERED when the status
  // moved.
  // UNAVAILABLE (reason STORE_LOCK_TIMEOUT) when the lock is not granted
  // within `lock_timeout`; `fn`'s error is returned after a rollback.
  using LockedUpdate =
      std::function<absl::StatusOr<std::optional<AccountRecord>>(
          const AccountRecord& current)>;
  absl::Status WithLockedAccount(const std::string& tenant,
                                 const std::string& id,
                                 absl::Duration lock_timeout,
                                 const LockedUpdate& fn, bool relink = false);

  // Logs an event that changes no account row (RATE_LIMITED, ...).
  absl::Status LogAccountEvent(const std::string& tenant, const std::string& id,
                               AccountEventType type, const std::string& reason,
                               absl::Time at);
  // The account is rate limited by its provider until `until`: logs
  // RATE_LIMITED (reason: the time, RFC 3339) unless it is limited already
  // (then only a later end is kept). NOT_FOUND for an unknown account.
  absl::Status MarkRateLimited(const std::string& tenant, const std::string& id,
                               absl::Time until, absl::Time now);
  // Logs RATE_LIMIT_CLEARED for every account whose limit ended by `now`,
  // once whichever replica asks first.
  absl::Status ClearRateLimits(absl::Time now);
  // The tenant's account events with seq > after, oldest first, at most
  // `limit`.
  absl::StatusOr<std::vector<AccountEvent>> ReadAccountEvents(
      const std::string& tenant, int64_t after, int limit);
  // The tenant's last account event seq (0: none yet).
  absl::StatusOr<int64_t> AccountEventPosition(const std::string& tenant);

  // Records a single-use value (an OAuth state's nonce) until `expires`.
  // ALREADY_EXISTS when it was consumed before. Forgets expired ones.
  absl::Status ConsumeOnce(const std::string& nonce, absl::Time expires,
                           absl::Time now);

  const std::string& backend() const { return db_->dialect().name; }
  // The database, for other tables of the same store (the rate ledger).
  store::SqlDatabase* database() const { return db_.get(); }

 private:
  explicit CredentialStore(std::unique_ptr<store::SqlDatabase> db)
      : db_(std::move(db)) {}
  absl::Status Migrate();
  absl::StatusOr<std::vector<AccountRecord>> Select(
      const std::string& where, const std::vector<std::string>& params,
      int limit);

  std::unique_ptr<store::SqlDatabase> db_;
};

}  // namespace unified::accounts

#endif  // SERVICE_ACCOUNTS_CREDENTIAL_STORE_H_
