// SQLite backend of the SQL seam: one connection per pooled lease, WAL
// journal so readers never wait for the writer, busy timeout as lock timeout.
#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "service/store/sql.h"

namespace unified::store {
namespace {

constexpr int kDefaultBusyMs = 10000;

absl::Status Error(sqlite3* db, int rc, absl::string_view what) {
  const std::string message =
      absl::StrCat("sqlite ", what, ": ", db ? sqlite3_errmsg(db) : "", " (",
                   sqlite3_errstr(rc), ")");
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return WithErrorInfo(absl::UnavailableError(message),
                           "STORE_LOCK_TIMEOUT");
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(message);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
      return WithErrorInfo(absl::UnavailableError(message),
                           "STORE_UNAVAILABLE");
    default:
      return absl::InternalError(message);
  }
}

class SqliteConnection final : public SqlConnection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() override { sqlite3_close_v2(db_); }

  absl::StatusOr<std::vector<SqlRow>> Query(
      absl::string_view sql, const std::vector<std::string>& params) override {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()),
                                &stmt, nullptr);
    if (rc != SQLITE_OK) return Error(db_, rc, "prepare");
    std::vector<SqlRow> rows;
    if (sqlite3_bind_parameter_count(stmt) != static_cast<int>(params.size())) {
      sqlite3_finalize(stmt);
      return absl::InternalError("sqlite: parameter count mismatch");
    }
    // "$N" names parameter N, wherever it first appears.
    for (size_t i = 0; i < params.size(); ++i) {
      const int index =
          sqlite3_bind_parameter_index(stmt, absl::StrCat("$", i + 1).c_str());
      if (index == 0) {
        sqlite3_finalize(stmt);
        return absl::InternalError("sqlite: a parameter is not used");
      }
      sqlite3_bind_text(stmt, index, params[i].data(),
                        static_cast<int>(params[i].size()), SQLITE_TRANSIENT);
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      SqlRow row;
      const int columns = sqlite3_column_count(stmt);
      for (int c = 0; c < columns; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
          row.emplace_back(std::nullopt);
        } else {
          const auto* text = sqlite3_column_text(stmt, c);
          row.emplace_back(std::string(reinterpret_cast<const char*>(text),
                                       sqlite3_column_bytes(stmt, c)));
        }
      }
      rows.push_back(std::move(row));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return Error(db_, rc, "step");
    return rows;
  }

  absl::Status BeginLocked(absl::Duration lock_timeout) override {
    sqlite3_busy_timeout(
        db_, static_cast<int>(absl::ToInt64Milliseconds(lock_timeout)));
    absl::StatusOr<std::vector<SqlRow>> r = Query("BEGIN IMMEDIATE", {});
    sqlite3_busy_timeout(db_, kDefaultBusyMs);
    return r.status();
  }

  bool healthy() const override { return sqlite3_get_autocommit(db_) != 0; }

 private:
  sqlite3* const db_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqlDatabase>> OpenSqlite(
    const std::string& path) {
  auto open = [path]() -> absl::StatusOr<std::unique_ptr<SqlConnection>> {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(
        path.c_str(), &db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
        nullptr);
    if (rc != SQLITE_OK) {
      absl::Status s = Error(db, rc, absl::StrCat("open ", path));
      sqlite3_close_v2(db);
      return s;
    }
    sqlite3_busy_timeout(db, kDefaultBusyMs);
    auto connection = std::make_unique<SqliteConnection>(db);
    for (const char* pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
          "PRAGMA foreign_keys=ON"}) {
      absl::StatusOr<std::vector<SqlRow>> r = connection->Query(pragma, {});
      if (!r.ok()) return r.status();
    }
    return connection;
  };
  // Fail at start-up, not at the first call, when the file cannot be opened.
  absl::StatusOr<std::unique_ptr<SqlConnection>> first = open();
  if (!first.ok()) return first.status();
  return NewPooledDatabase(SqlDialect{"sqlite", ""}, open, 8);
}

}  // namespace unified::store
