// Configuration shared by the server and the admin tool: where the data
// directory and store are, and the key ring (read as a secret:
// connectors/common/secrets.h).
#ifndef SERVICE_ACCOUNTS_CONFIG_H_
#define SERVICE_ACCOUNTS_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "service/accounts/sealer.h"

namespace unified::accounts {

// `flag` if set, else $XDG_DATA_HOME/unified-directory, else
// $HOME/.local/share/unified-directory; created with mode 0700.
absl::StatusOr<std::string> ResolveDataDir(const std::string& flag);

// `store` if set, else "sqlite:<data_dir>/accounts.db".
// Makes a SQLite store's files (the database, its WAL, shared memory and
// journal) the owner's alone (0600); PostgreSQL URLs are left as they are.
absl::Status MakeStoreFilesPrivate(const std::string& store_url);

std::string ResolveStoreUrl(const std::string& store,
                            const std::string& data_dir);

// The key ring from `file` or $UNIFIED_ENCRYPTION_KEYS, checked: start-up
// fails with a clear message when absent or when a key is not 32 bytes.
absl::StatusOr<Sealer> LoadSealer(const std::string& file);

}  // namespace unified::accounts

#endif  // SERVICE_ACCOUNTS_CONFIG_H_
