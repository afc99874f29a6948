// Starts a program built by Bazel (a `data` dependency of the test) as a child
// process and reads its stdout line by line, so that integration tests talk to
// the real binaries over real sockets.
#ifndef TESTS_TESTING_SUBPROCESS_H_
#define TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace unified::testing {

// Absolute path of a runfile given its workspace-relative path, e.g.
// "service/server".
std::string RunfilePath(absl::string_view workspace_relative);

class Subprocess {
 public:
  // Starts `path` with `args` (argv[1..]). stdout is captured; stderr goes to
  // the test's log, or is appended to `stderr_file` when one is named.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const std::string& path, const std::vector<std::string>& args,
      const std::string& stderr_file = "");

  // Kills (SIGKILL) and reaps the child if it still runs.
  ~Subprocess();

  // Reads stdout until a line starting with `prefix` arrives and returns the
  // rest of that line. DEADLINE_EXCEEDED after `timeout`; FAILED_PRECONDITION
  // when the child closes stdout first.
  absl::StatusOr<std::string> WaitForLine(absl::string_view prefix,
                                          absl::Duration timeout);

  // Everything read from stdout so far.
  const std::string& output() const { return output_; }

  // Sends `signal` to the child.
  void Signal(int signal);

  // Waits for the child to exit; returns its exit code, or 128 + the signal
  // that killed it. DEADLINE_EXCEEDED (child left running) after `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout);

  pid_t pid() const { return pid_; }

 private:
  Subprocess(pid_t pid, int stdout_fd) : pid_(pid), stdout_fd_(stdout_fd) {}

  pid_t pid_;
  int stdout_fd_;
  bool reaped_ = false;
  std::string output_;
  size_t consumed_ = 0;  // Bytes of output_ already returned as lines.
};

}  // namespace unified::testing

#endif  // TESTS_TESTING_SUBPROCESS_H_
