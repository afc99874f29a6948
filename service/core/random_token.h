// Random URL-safe tokens and the digest they are stored by: hook secrets
// (service/watch), link tokens (service/link). Only the digest of such a
// token is ever stored.
#ifndef SERVICE_CORE_RANDOM_TOKEN_H_
#define SERVICE_CORE_RANDOM_TOKEN_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace unified {

// `bytes` random bytes (OpenSSL), URL-safe base64 without padding; "" when
// no randomness could be had.
std::string RandomUrlToken(size_t bytes = 32);

// The SHA-256 of `data`, as lowercase hex.
std::string Sha256Hex(absl::string_view data);

}  // namespace unified

#endif  // SERVICE_CORE_RANDOM_TOKEN_H_
