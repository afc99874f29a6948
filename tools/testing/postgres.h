// A throwaway PostgreSQL server for one test binary: initdb into a fresh
// directory under /tmp, `postgres` listening on a Unix socket only (no TCP
// port at all), stopped and removed at the end. As root (CI), the server runs
// as the `postgres` user, since PostgreSQL refuses to run as root.
#ifndef TESTS_TESTING_POSTGRES_H_
#define TESTS_TESTING_POSTGRES_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tools/testing/subprocess.h"

namespace unified::testing {

class TestPostgres {
 public:
  // Starts the server; returns when it accepts connections.
  static absl::StatusOr<std::unique_ptr<TestPostgres>> Start();
  ~TestPostgres();

  // Creates database `name` and returns its connection URI (for --store).
  absl::StatusOr<std::string> CreateDatabase(const std::string& name);

  // libpq key=value connection string of database `name`.
  std::string Conninfo(const std::string& name) const;

  // Stops the server (fast shutdown), keeping its data; Resume starts it
  // again and returns when it accepts connections.
  absl::Status Stop();
  absl::Status Resume();

 private:
  TestPostgres() = default;
  std::string dir_;
  std::string command_;  // The shell command that runs the server.
  std::unique_ptr<Subprocess> server_;
};

}  // namespace unified::testing

#endif  // TESTS_TESTING_POSTGRES_H_
