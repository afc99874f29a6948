// The secrets a server needs, written to a directory the way an operator
// would (0600 files): an encryption key ring, hashed API keys for some
// tenants, and the Podio client secret. Used by integration tests, the
// benchmarks and the demo.
#ifndef TESTS_TESTING_SERVICE_FILES_H_
#define TESTS_TESTING_SERVICE_FILES_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace unified::testing {

struct ServiceFiles {
  std::string dir;
  std::string keys_file;           // Encryption key ring.
  std::string api_keys_file;       // "TENANT sha256:HEX" lines.
  std::string client_secret_file;  // The simulator's client secret.
  std::map<std::string, std::string> api_keys;  // tenant -> plaintext key.

  // Server flags for these files, the simulator at `sim_url` (API and web
  // host) and its demo OAuth client, without a shutdown drain.
  std::vector<std::string> ServerFlags(const std::string& sim_url) const;
};

// Writes the files into `dir` (created if needed) with one new API key per
// tenant and, unless `dir` has one already, a key ring of one key "k1".
absl::StatusOr<ServiceFiles> WriteServiceFiles(
    const std::string& dir, const std::vector<std::string>& tenants);

// Writes `text` to `path` with mode 0600.
absl::Status WritePrivateFile(const std::string& path, const std::string& text);

// The whole content of `path` ("" when it cannot be read).
std::string ReadFile(const std::string& path);

// A fresh directory under $TEST_TMPDIR (or /tmp).
std::string MakeTempDir(const std::string& prefix);

}  // namespace unified::testing

#endif  // TESTS_TESTING_SERVICE_FILES_H_
