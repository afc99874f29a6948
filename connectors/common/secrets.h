// Reading secrets (API keys, key rings, OAuth client secrets) from files
// or environment variables, never from flags, which `ps` shows. Used by the
// server and by connector plug-ins for their own secrets.
#ifndef CONNECTORS_COMMON_SECRETS_H_
#define CONNECTORS_COMMON_SECRETS_H_

#include <string>

#include "absl/status/statusor.h"

namespace unified {

// The text of `file` if set, else of environment variable `env` (none when
// empty); NOT_FOUND naming both when neither is set, FAILED_PRECONDITION
// when the file is readable by others, or by its group (see below).
absl::StatusOr<std::string> ReadSecret(const std::string& file, const char* env,
                                       const std::string& what);

// Whether a secret file may also be readable (not writable) by its group
// when that group is one of the process's own and no one else can read it:
// how Kubernetes mounts a Secret volume for a pod's fsGroup, which lets the
// files be replaced live. Off unless the server's
// --secret_files_group_readable sets it. Process-wide.
void SetGroupReadableSecretsAllowed(bool allowed);

}  // namespace unified

#endif  // CONNECTORS_COMMON_SECRETS_H_
