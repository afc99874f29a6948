#include "tools/testing/service_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "service/accounts/sealer.h"
#include "service/core/tenants.h"

namespace unified::testing {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

absl::Status WritePrivateFile(const std::string& path,
                              const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  const ssize_t written = write(fd, text.data(), text.size());
  close(fd);
  if (written != static_cast<ssize_t>(text.size())) {
    return absl::UnavailableError(absl::StrCat("short write to ", path));
  }
  return absl::OkStatus();
}

std::string MakeTempDir(const std::string& prefix) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern =
      absl::StrCat(base != nullptr ? base : "/tmp", "/", prefix, "XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

absl::StatusOr<ServiceFiles> WriteServiceFiles(
    const std::string& dir, const std::vector<std::string>& tenants) {
  mkdir(dir.c_str(), 0700);
  ServiceFiles files;
  files.dir = dir;
  files.keys_file = dir + "/encryption_keys";
  files.api_keys_file = dir + "/api_keys";
  files.client_secret_file = dir + "/podio_client_secret";
  // An existing key ring is kept: the store's rows need it.
  if (access(files.keys_file.c_str(), F_OK) != 0) {
    if (absl::Status s = WritePrivateFile(
            files.keys_file, accounts::NewKeyRingEntry("k1") + "\n");
        !s.ok()) {
      return s;
    }
  }
  std::string lines;
  for (const std::string& tenant : tenants) {
    NewApiKey key = GenerateApiKey(tenant);
    files.api_keys[tenant] = key.key;
    absl::StrAppend(&lines, key.line, "\n");
  }
  if (absl::Status s = WritePrivateFile(files.api_keys_file, lines); !s.ok()) {
    return s;
  }
  if (absl::Status s =
          WritePrivateFile(files.client_secret_file, "demo-secret\n");
      !s.ok()) {
    return s;
  }
  return files;
}

std::vector<std::string> ServiceFiles::ServerFlags(
    const std::string& sim_url) const {
  return {"--podio_api_base=" + sim_url,
          "--podio_web_base=" + sim_url,
          "--podio_client_id=demo-client",
          "--podio_client_secret_file=" + client_secret_file,
          "--encryption_keys_file=" + keys_file,
          "--api_keys_file=" + api_keys_file,
          "--data_dir=" + dir,
          // No balancer to wait for: a stopped test server stops at once.
          "--shutdown_drain=0s"};
}

}  // namespace unified::testing
