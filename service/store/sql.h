// A small SQL seam under the credential store, so one store implementation
// runs on SQLite (the embedded default) and PostgreSQL (several replicas).
// Statements use $1, $2, ... placeholders in order of first use (both
// databases accept that); every parameter and value travels as text.
#ifndef SERVICE_STORE_SQL_H_
#define SERVICE_STORE_SQL_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace unified::store {

using SqlRow = std::vector<std::optional<std::string>>;

// One connection; used by one thread at a time. Errors: UNAVAILABLE (reason
// STORE_UNAVAILABLE) when the database cannot be reached, UNAVAILABLE
// (reason STORE_LOCK_TIMEOUT) when a lock was not granted in time,
// ALREADY_EXISTS on a unique-key violation, INTERNAL otherwise. Messages
// never hold parameter values.
class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  virtual absl::StatusOr<std::vector<SqlRow>> Query(
      absl::string_view sql, const std::vector<std::string>& params = {}) = 0;
  // Starts a transaction that holds the write locks it takes until Commit or
  // Rollback; waiting for a lock longer than `lock_timeout` fails.
  virtual absl::Status BeginLocked(absl::Duration lock_timeout) = 0;
  // False once the connection is broken (it is then not reused).
  virtual bool healthy() const = 0;
};

struct SqlDialect {
  std::string name;        // "sqlite" | "postgresql"
  std::string for_update;  // Row-lock suffix of a SELECT, or "".
};

// A pool of connections; thread-safe.
class SqlDatabase {
 public:
  class Lease {
   public:
    Lease(SqlDatabase* db, std::unique_ptr<SqlConnection> c)
        : db_(db), c_(std::move(c)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (c_ != nullptr) db_->Release(std::move(c_));
    }
    SqlConnection* operator->() const { return c_.get(); }

   private:
    SqlDatabase* db_;
    std::unique_ptr<SqlConnection> c_;
  };

  virtual ~SqlDatabase() = default;
  virtual absl::StatusOr<Lease> Acquire() = 0;
  virtual const SqlDialect& dialect() const = 0;

 protected:
  virtual void Release(std::unique_ptr<SqlConnection> connection) = 0;
};

// Values as the stores keep them: times are Unix milliseconds in decimal
// text; a NULL or unreadable column reads as 0, the epoch, or "".
inline std::string SqlMillis(absl::Time t) {
  return absl::StrCat(absl::ToUnixMillis(t));
}
inline int64_t SqlInt(const std::optional<std::string>& value) {
  int64_t n = 0;
  if (value) (void)absl::SimpleAtoi(*value, &n);
  return n;
}
inline absl::Time SqlTime(const std::optional<std::string>& value) {
  return absl::FromUnixMillis(SqlInt(value));
}
inline std::string SqlText(const std::optional<std::string>& value) {
  return value.value_or("");
}

// Runs `body` in a transaction on `c` that holds the write locks it takes
// (waiting at most `lock_timeout` for one); commits when `body` succeeds,
// rolls back otherwise.
absl::Status InTransaction(SqlDatabase::Lease& c, absl::Duration lock_timeout,
                           const std::function<absl::Status()>& body);

// A pool over `open`, keeping at most `max_idle` idle connections.
std::unique_ptr<SqlDatabase> NewPooledDatabase(
    SqlDialect dialect,
    std::function<absl::StatusOr<std::unique_ptr<SqlConnection>>()> open,
    size_t max_idle);

// A SQLite database file (created if absent), WAL journal.
absl::StatusOr<std::unique_ptr<SqlDatabase>> OpenSqlite(
    const std::string& path);

// A PostgreSQL database from a libpq connection URI or key=value string.
absl::StatusOr<std::unique_ptr<SqlDatabase>> OpenPostgres(
    const std::string& conninfo);

// Whether libpq can parse `conninfo`, without connecting: INVALID_ARGUMENT
// with libpq's reason (never the string itself, which may hold a password)
// otherwise.
absl::Status CheckPostgresConninfo(const std::string& conninfo);

}  // namespace unified::store

#endif  // SERVICE_STORE_SQL_H_
