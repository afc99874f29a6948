#include "connectors/common/secrets.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace unified {
namespace {

std::atomic<bool> group_readable_allowed{false};

bool IsOwnGroup(gid_t gid) {
  if (gid == getegid()) return true;
  gid_t groups[256];
  const int n = getgroups(256, groups);
  for (int i = 0; i < n; ++i) {
    if (groups[i] == gid) return true;
  }
  return false;
}

// Whether `st` is private enough for a secret.
bool PrivateEnough(const struct stat& st) {
  const mode_t mode = st.st_mode & 077;
  if (mode == 0) return true;
  return group_readable_allowed.load() && mode == 040 && IsOwnGroup(st.st_gid);
}

}  // namespace

void SetGroupReadableSecretsAllowed(bool allowed) {
  group_readable_allowed.store(allowed);
}

absl::StatusOr<std::string> ReadSecret(const std::string& file, const char* env,
                                       const std::string& what) {
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      return absl::NotFoundError(
          absl::StrCat("cannot read ", what, " file ", file));
    }
    struct stat st {};
    if (stat(file.c_str(), &st) == 0 && !PrivateEnough(st)) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "the %s file %s is readable by group or others (mode %04o); make "
          "it the owner's alone: chmod 600 %s",
          what, file, st.st_mode & 07777, file));
    }
    return std::string((std::istreambuf_iterator<char>(in)),
                       std::istreambuf_iterator<char>());
  }
  if (const char* value = env != nullptr && *env ? std::getenv(env) : nullptr;
      value != nullptr && *value) {
    return std::string(value);
  }
  return absl::NotFoundError(absl::StrCat("no ", what,
                                          ": pass its file with a flag or "
                                          "set $",
                                          env));
}

}  // namespace unified
