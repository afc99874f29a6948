// Encryption at rest of credentials: AES-256-GCM (OpenSSL EVP) with a fresh
// random 96-bit nonce per encryption, the key id stored with each
// ciphertext, and additional authenticated data binding the ciphertext to
// its tenant, account and field, so a ciphertext copied to another row or
// field fails to open.
//
// Sealed text format, version 1 (ASCII, safe in any database column):
//
//   "v1." KEY_ID "." base64url(nonce[12] || ciphertext || tag[16])
//
// The AAD is "unified.v1.credential" NUL "v1" NUL KEY_ID NUL tenant NUL
// account NUL field.
#ifndef SERVICE_ACCOUNTS_SEALER_H_
#define SERVICE_ACCOUNTS_SEALER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace unified::accounts {

// What a ciphertext is bound to.
struct SealContext {
  std::string tenant;
  std::string account_id;
  std::string field;  // e.g. "access_token"
};

struct SealKey {
  std::string id;     // 1-32 of [A-Za-z0-9_-].
  std::string bytes;  // Exactly 32 bytes.
};

// Thread-safe. The key ring is replaced whole by Replace (a live reload);
// each call sees the old ring or the new one.
class Sealer {
 public:
  // `keys` oldest first; new ciphertexts use the last one. Every key opens
  // ciphertexts made with it. INVALID_ARGUMENT on an empty list, a key that
  // is not 32 bytes, a bad or repeated key id.
  static absl::StatusOr<Sealer> Create(std::vector<SealKey> keys);

  // Encrypts `plaintext` with the newest key and a fresh random nonce.
  absl::StatusOr<std::string> Seal(const SealContext& context,
                                   absl::string_view plaintext) const;

  // Decrypts. DATA_LOSS (reason CREDENTIAL_UNREADABLE) when the text is
  // malformed, of an unknown version or key id, or fails authentication (a
  // wrong key, tampering, or a ciphertext of another account or field). The
  // message never contains any part of the text.
  absl::StatusOr<std::string> Open(const SealContext& context,
                                   absl::string_view sealed) const;

  // The key id `sealed` was made with ("" when unreadable).
  static std::string KeyIdOf(absl::string_view sealed);

  // The id of the key new ciphertexts use.
  std::string newest_key_id() const { return Keys()->back().id; }

  // Takes `other`'s key ring.
  void Replace(const Sealer& other) { std::atomic_store(&keys_, other.Keys()); }

  // Seal with a given nonce (12 bytes): only for fixed test vectors.
  absl::StatusOr<std::string> SealWithNonceForTesting(
      const SealContext& context, absl::string_view plaintext,
      absl::string_view nonce) const;

 private:
  explicit Sealer(std::vector<SealKey> keys)
      : keys_(std::make_shared<const std::vector<SealKey>>(std::move(keys))) {}
  std::shared_ptr<const std::vector<SealKey>> Keys() const {
    return std::atomic_load(&keys_);
  }
  std::shared_ptr<const std::vector<SealKey>> keys_;
};

// Parses a key ring: entries "KEY_ID:BASE64_OF_32_BYTES" separated by new
// lines or ';', oldest first, '#' starting a comment line. Errors never echo
// key material.
absl::StatusOr<std::vector<SealKey>> ParseKeyRing(absl::string_view text);

// A new key ring entry "KEY_ID:BASE64" with 32 random bytes.
std::string NewKeyRingEntry(const std::string& key_id);

}  // namespace unified::accounts

#endif  // SERVICE_ACCOUNTS_SEALER_H_
