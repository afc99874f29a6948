#include "service/store/sql.h"

#include "absl/synchronization/mutex.h"

namespace unified::store {
namespace {

class PooledDatabase final : public SqlDatabase {
 public:
  PooledDatabase(
      SqlDialect dialect,
      std::function<absl::StatusOr<std::unique_ptr<SqlConnection>>()> open,
      size_t max_idle)
      : dialect_(std::move(dialect)),
        open_(std::move(open)),
        max_idle_(max_idle) {}

  absl::StatusOr<Lease> Acquire() override {
    {
      absl::MutexLock lock(&mu_);
      if (!idle_.empty()) {
        std::unique_ptr<SqlConnection> c = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(c));
      }
    }
    absl::StatusOr<std::unique_ptr<SqlConnection>> c = open_();
    if (!c.ok()) return c.status();
    return Lease(this, std::move(*c));
  }

  const SqlDialect& dialect() const override { return dialect_; }

 protected:
  void Release(std::unique_ptr<SqlConnection> connection) override {
    if (!connection->healthy()) return;
    absl::MutexLock lock(&mu_);
    if (idle_.size() < max_idle_) idle_.push_back(std::move(connection));
  }

 private:
  const SqlDialect dialect_;
  const std::function<absl::StatusOr<std::unique_ptr<SqlConnection>>()> open_;
  const size_t max_idle_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<SqlConnection>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::Status InTransaction(SqlDatabase::Lease& c, absl::Duration lock_timeout,
                           const std::function<absl::Status()>& body) {
  if (absl::Status begun = c->BeginLocked(lock_timeout); !begun.ok()) {
    return begun;
  }
  absl::Status s = body();
  if (s.ok()) {
    absl::StatusOr<std::vector<SqlRow>> commit = c->Query("COMMIT");
    if (commit.ok()) return absl::OkStatus();
    s = commit.status();
  }
  (void)c->Query("ROLLBACK");
  return s;
}

std::unique_ptr<SqlDatabase> NewPooledDatabase(
    SqlDialect dialect,
    std::function<absl::StatusOr<std::unique_ptr<SqlConnection>>()> open,
    size_t max_idle) {
  return std::make_unique<PooledDatabase>(std::move(dialect), std::move(open),
                                          max_idle);
}

}  // namespace unified::store
