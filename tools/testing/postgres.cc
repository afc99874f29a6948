#include "tools/testing/postgres.h"

#include <glob.h>
#include <postgresql/libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"

namespace unified::testing {
namespace {

// The newest installed server's bin directory, e.g.
// /usr/lib/postgresql/15/bin.
std::string BinDir() {
  glob_t found;
  std::string dir;
  if (glob("/usr/lib/postgresql/*/bin/postgres", 0, nullptr, &found) == 0) {
    dir = found.gl_pathv[found.gl_pathc - 1];
    dir = dir.substr(0, dir.rfind('/'));
  }
  globfree(&found);
  return dir;
}

// Runs `argv` as `user` ("" = ourselves) to completion; its exit code.
absl::StatusOr<int> RunAs(const std::string& user,
                          std::vector<std::string> argv) {
  std::string program = argv[0];
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  if (!user.empty()) {
    args.insert(args.begin(), {"--reuid=" + user, "--regid=" + user,
                               "--init-groups", "--", program});
    program = "/usr/bin/setpriv";
  }
  auto process = Subprocess::Start(program, args);
  if (!process.ok()) return process.status();
  return (*process)->Wait(absl::Seconds(120));
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestPostgres>> TestPostgres::Start() {
  const std::string bin = BinDir();
  if (bin.empty()) {
    return absl::FailedPreconditionError(
        "no PostgreSQL server under /usr/lib/postgresql (tools/setup "
        "installs it)");
  }
  std::unique_ptr<TestPostgres> pg(new TestPostgres());
  // Short path: the socket's path must fit in sun_path.
  std::string pattern = "/tmp/pgtestXXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError("mkdtemp failed");
  }
  pg->dir_ = pattern;
  std::string user;
  if (geteuid() == 0) {
    user = "postgres";
    const passwd* pw = getpwnam("postgres");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root and no postgres "
          "user to run the server as");
    }
    if (chown(pg->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError("chown of the PostgreSQL directory failed");
    }
  }
  absl::StatusOr<int> initdb =
      RunAs(user, {bin + "/initdb", "-D", pg->dir_ + "/data", "-A", "trust",
                   "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"});
  if (!initdb.ok()) return initdb.status();
  if (*initdb != 0) {
    return absl::InternalError(absl::StrCat("initdb exited with ", *initdb));
  }
  std::vector<std::string> args = {bin + "/postgres",
                                   "-D",
                                   pg->dir_ + "/data",
                                   "-k",
                                   pg->dir_,
                                   "-c",
                                   "listen_addresses=",
                                   "-c",
                                   "fsync=off",
                                   "-c",
                                   "full_page_writes=off",
                                   "-c",
                                   "max_connections=200",
                                   "-c",
                                   "log_line_prefix=",
                                   "-c",
                                   "log_checkpoints=off",
                                   "-c",
                                   "log_min_error_statement=panic",
                                   "-c",
                                   "logging_collector=off"};
  // Its log goes to stdout (read for readiness below) through a shell.
  std::string command = "exec";
  if (!user.empty()) {
    command +=
        " /usr/bin/setpriv --reuid=postgres --regid=postgres "
        "--init-groups --";
  }
  for (const std::string& a : args) absl::StrAppend(&command, " '", a, "'");
  command += " 2>&1";
  pg->command_ = command;
  if (absl::Status s = pg->Resume(); !s.ok()) return s;
  return pg;
}

absl::Status TestPostgres::Resume() {
  auto server = Subprocess::Start("/bin/sh", {"-c", command_});
  if (!server.ok()) return server.status();
  server_ = std::move(*server);
  return server_
      ->WaitForLine("LOG:  database system is ready to accept connections",
                    absl::Seconds(60))
      .status();
}

absl::Status TestPostgres::Stop() {
  if (server_ == nullptr) return absl::OkStatus();
  server_->Signal(SIGINT);  // Fast shutdown: clients are disconnected.
  absl::StatusOr<int> code = server_->Wait(absl::Seconds(30));
  server_.reset();
  return code.status();
}

TestPostgres::~TestPostgres() {
  if (server_ != nullptr) {
    // SIGQUIT: immediate shutdown; the data is thrown away anyway.
    server_->Signal(SIGQUIT);
    (void)server_->Wait(absl::Seconds(30));
    server_.reset();
  }
  if (!dir_.empty()) {
    (void)RunAs("", {"/bin/rm", "-rf", dir_});
  }
}

std::string TestPostgres::Conninfo(const std::string& name) const {
  return absl::StrCat("host=", dir_, " dbname=", name, " user=postgres");
}

absl::StatusOr<std::string> TestPostgres::CreateDatabase(
    const std::string& name) {
  PGconn* conn = PQconnectdb(Conninfo("postgres").c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn);
    PQfinish(conn);
    return absl::UnavailableError(why);
  }
  PGresult* result =
      PQexec(conn, absl::StrCat("CREATE DATABASE \"", name, "\"").c_str());
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  std::string why = PQerrorMessage(conn);
  PQclear(result);
  PQfinish(conn);
  if (!ok) return absl::InternalError(why);
  return absl::StrCat("postgresql:///", name, "?host=", dir_, "&user=postgres");
}

}  // namespace unified::testing
