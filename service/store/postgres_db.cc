// PostgreSQL backend of the SQL seam (libpq): text parameters, row locks
// with a transaction-local lock_timeout.
#include <postgresql/libpq-fe.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "service/store/sql.h"

namespace unified::store {
namespace {

absl::Status Unavailable(const std::string& message) {
  return WithErrorInfo(absl::UnavailableError(message), "STORE_UNAVAILABLE");
}

class PostgresConnection final : public SqlConnection {
 public:
  explicit PostgresConnection(PGconn* conn) : conn_(conn) {}
  ~PostgresConnection() override { PQfinish(conn_); }

  absl::StatusOr<std::vector<SqlRow>> Query(
      absl::string_view sql, const std::vector<std::string>& params) override {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const std::string& p : params) values.push_back(p.c_str());
    const std::string text(sql);
    PGresult* result =
        PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()),
                     nullptr, values.data(), nullptr, nullptr, 0);
    const ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      absl::Status error = ErrorOf(result);
      PQclear(result);
      return error;
    }
    std::vector<SqlRow> rows;
    const int n = PQntuples(result);
    const int columns = PQnfields(result);
    rows.reserve(n);
    for (int r = 0; r < n; ++r) {
      SqlRow row;
      for (int c = 0; c < columns; ++c) {
        if (PQgetisnull(result, r, c)) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(
              std::string(PQgetvalue(result, r, c), PQgetlength(result, r, c)));
        }
      }
      rows.push_back(std::move(row));
    }
    PQclear(result);
    return rows;
  }

  // One round trip: both statements in one simple query.
  absl::Status BeginLocked(absl::Duration lock_timeout) override {
    const std::string begin =
        absl::StrCat("BEGIN; SET LOCAL lock_timeout = ",
                     absl::ToInt64Milliseconds(lock_timeout));
    PGresult* result = PQexec(conn_, begin.c_str());
    absl::Status status = PQresultStatus(result) == PGRES_COMMAND_OK
                              ? absl::OkStatus()
                              : ErrorOf(result);
    PQclear(result);
    return status;
  }

  bool healthy() const override {
    return PQstatus(conn_) == CONNECTION_OK &&
           PQtransactionStatus(conn_) == PQTRANS_IDLE;
  }

 private:
  absl::Status ErrorOf(PGresult* result) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      return Unavailable("PostgreSQL connection lost");
    }
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    const std::string message =
        absl::StrCat("PostgreSQL: ", primary ? primary : "error", " (",
                     state ? state : "?", ")");
    const std::string code = state ? state : "";
    if (code == "55P03" || code == "40P01" || code == "57014") {
      return WithErrorInfo(absl::UnavailableError(message),
                           "STORE_LOCK_TIMEOUT");
    }
    if (code == "23505") return absl::AlreadyExistsError(message);
    if (code.rfind("08", 0) == 0 || code.rfind("57P", 0) == 0) {
      return Unavailable(message);
    }
    return absl::InternalError(message);
  }

  PGconn* const conn_;
};

}  // namespace

absl::Status CheckPostgresConninfo(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options != nullptr) {
    PQconninfoFree(options);
    return absl::OkStatus();
  }
  std::string why = error != nullptr ? error : "out of memory";
  PQfreemem(error);
  why = why.substr(0, why.find('\n'));
  return absl::InvalidArgumentError(
      absl::StrCat("the PostgreSQL store URL does not parse: ", why));
}

absl::StatusOr<std::unique_ptr<SqlDatabase>> OpenPostgres(
    const std::string& conninfo) {
  auto open = [conninfo]() -> absl::StatusOr<std::unique_ptr<SqlConnection>> {
    PGconn* conn = PQconnectdb(conninfo.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
      // libpq's message may quote the connection string's host but never
      // its password; keep only the first line.
      std::string why = PQerrorMessage(conn);
      why = why.substr(0, why.find('\n'));
      PQfinish(conn);
      return Unavailable(absl::StrCat("cannot connect to PostgreSQL: ", why));
    }
    auto connection = std::make_unique<PostgresConnection>(conn);
    absl::StatusOr<std::vector<SqlRow>> r =
        connection->Query("SET client_min_messages = warning", {});
    if (!r.ok()) return r.status();
    return connection;
  };
  absl::StatusOr<std::unique_ptr<SqlConnection>> first = open();
  if (!first.ok()) return first.status();
  return NewPooledDatabase(SqlDialect{"postgresql", " FOR UPDATE"}, open, 8);
}

}  // namespace unified::store
