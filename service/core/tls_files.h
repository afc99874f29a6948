// Start-up checks of TLS files, so that a bad certificate is a clear error
// at start-up rather than failed handshakes later.
#ifndef SERVICE_CORE_TLS_FILES_H_
#define SERVICE_CORE_TLS_FILES_H_

#include <string>

#include "absl/status/status.h"

namespace unified {

// `cert_file` holds a PEM certificate chain, `key_file` the PEM private key
// of its first certificate, and `ca_file` (when not empty) at least one PEM
// certificate. INVALID_ARGUMENT naming the file otherwise.
absl::Status CheckTlsFiles(const std::string& cert_file,
                           const std::string& key_file,
                           const std::string& ca_file);

}  // namespace unified

#endif  // SERVICE_CORE_TLS_FILES_H_
