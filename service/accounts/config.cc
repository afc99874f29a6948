#include "service/accounts/config.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "connectors/common/secrets.h"
#include "connectors/common/status_macros.h"

namespace unified::accounts {
namespace {

absl::Status MakeDirs(const std::string& path) {
  for (size_t slash = 1; slash != std::string::npos;) {
    slash = path.find('/', slash + 1);
    const std::string prefix = path.substr(0, slash);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create ", prefix, ": ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ResolveDataDir(const std::string& flag) {
  std::string dir = flag;
  if (dir.empty()) {
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
      dir = absl::StrCat(xdg, "/unified-directory");
    } else if (const char* home = std::getenv("HOME"); home && *home) {
      dir = absl::StrCat(home, "/.local/share/unified-directory");
    } else {
      return absl::FailedPreconditionError(
          "no --data_dir, $XDG_DATA_HOME or $HOME");
    }
  }
  RETURN_IF_ERROR(MakeDirs(dir));
  // Names, e-mails and tenant ids in the store are not sealed: the
  // directory is the owner's alone, even when it existed before.
  if (chmod(dir.c_str(), 0700) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot make the data directory ", dir, " private (0700)"));
  }
  return dir;
}

absl::Status MakeStoreFilesPrivate(const std::string& store_url) {
  absl::string_view path = store_url;
  if (!absl::ConsumePrefix(&path, "sqlite:")) {
    if (absl::StartsWith(path, "postgres")) return absl::OkStatus();
  }
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    const std::string file = absl::StrCat(path, suffix);
    if (chmod(file.c_str(), 0600) != 0 && errno != ENOENT) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot make ", file, " private (0600)"));
    }
  }
  return absl::OkStatus();
}

std::string ResolveStoreUrl(const std::string& store,
                            const std::string& data_dir) {
  return store.empty() ? absl::StrCat("sqlite:", data_dir, "/accounts.db")
                       : store;
}

absl::StatusOr<Sealer> LoadSealer(const std::string& file) {
  absl::StatusOr<std::string> text =
      ReadSecret(file, "UNIFIED_ENCRYPTION_KEYS", "encryption key ring");
  if (!text.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        text.status().message(),
        " (--encryption_keys_file; entries KEY_ID:BASE64 of 32 random bytes, "
        "e.g. made by `accounts_admin new-key k1`)"));
  }
  ASSIGN_OR_RETURN(std::vector<SealKey> keys, ParseKeyRing(*text));
  absl::StatusOr<Sealer> sealer = Sealer::Create(std::move(keys));
  if (!sealer.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("encryption key ring: ", sealer.status().message()));
  }
  return sealer;
}

}  // namespace unified::accounts
