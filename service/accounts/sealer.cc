#include "service/accounts/sealer.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/error_details.h"

namespace unified::accounts {
namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr char kVersion[] = "v1";

struct CipherDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherDeleter>;

bool ValidKeyId(absl::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

std::string Aad(const std::string& key_id, const SealContext& context) {
  std::string aad = "unified.v1.credential";
  for (const std::string* part :
       {&key_id, &context.tenant, &context.account_id, &context.field}) {
    aad.push_back('\0');
    if (part == &key_id) {
      aad += kVersion;
      aad.push_back('\0');
    }
    aad += *part;
  }
  return aad;
}

absl::Status Unreadable(absl::string_view why) {
  return WithErrorInfo(
      absl::DataLossError(absl::StrCat("stored credential unreadable: ", why)),
      "CREDENTIAL_UNREADABLE");
}

// AES-256-GCM encryption of `plaintext` into nonce || ciphertext || tag.
absl::StatusOr<std::string> Encrypt(const std::string& key,
                                    absl::string_view nonce,
                                    const std::string& aad,
                                    absl::string_view plaintext) {
  CipherPtr ctx(EVP_CIPHER_CTX_new());
  std::string out(nonce);
  out.resize(kNonceBytes + plaintext.size() + kTagBytes);
  auto* dst = reinterpret_cast<unsigned char*>(&out[kNonceBytes]);
  int len = 0;
  int total = 0;
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                         nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes,
                          nullptr) != 1 ||
      EVP_EncryptInit_ex(
          ctx.get(), nullptr, nullptr,
          reinterpret_cast<const unsigned char*>(key.data()),
          reinterpret_cast<const unsigned char*>(nonce.data())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(
          ctx.get(), dst, &len,
          reinterpret_cast<const unsigned char*>(plaintext.data()),
          static_cast<int>(plaintext.size())) != 1) {
    return absl::InternalError("AES-256-GCM encryption failed");
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), dst + total, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          dst + plaintext.size()) != 1) {
    return absl::InternalError("AES-256-GCM encryption failed");
  }
  return out;
}

}  // namespace

absl::StatusOr<Sealer> Sealer::Create(std::vector<SealKey> keys) {
  if (keys.empty()) {
    return absl::InvalidArgumentError("the encryption key ring is empty");
  }
  std::set<std::string> ids;
  for (const SealKey& key : keys) {
    if (!ValidKeyId(key.id)) {
      return absl::InvalidArgumentError(
          "an encryption key id must be 1-32 characters of [A-Za-z0-9_-]");
    }
    if (key.bytes.size() != kKeyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("encryption key '", key.id, "' is ", key.bytes.size(),
                       " bytes; AES-256 needs exactly 32"));
    }
    if (!ids.insert(key.id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("encryption key id '", key.id, "' appears twice"));
    }
  }
  return Sealer(std::move(keys));
}

absl::StatusOr<std::string> Sealer::Seal(const SealContext& context,
                                         absl::string_view plaintext) const {
  std::string nonce(kNonceBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), kNonceBytes) !=
      1) {
    return absl::InternalError("no randomness for a nonce");
  }
  return SealWithNonceForTesting(context, plaintext, nonce);
}

absl::StatusOr<std::string> Sealer::SealWithNonceForTesting(
    const SealContext& context, absl::string_view plaintext,
    absl::string_view nonce) const {
  if (nonce.size() != kNonceBytes) {
    return absl::InvalidArgumentError("a nonce is 12 bytes");
  }
  const std::shared_ptr<const std::vector<SealKey>> keys = Keys();
  const SealKey& key = keys->back();
  absl::StatusOr<std::string> raw =
      Encrypt(key.bytes, nonce, Aad(key.id, context), plaintext);
  if (!raw.ok()) return raw.status();
  return absl::StrCat(kVersion, ".", key.id, ".",
                      absl::WebSafeBase64Escape(*raw));
}

std::string Sealer::KeyIdOf(absl::string_view sealed) {
  std::vector<absl::string_view> parts = absl::StrSplit(sealed, '.');
  if (parts.size() != 3 || parts[0] != kVersion || !ValidKeyId(parts[1])) {
    return "";
  }
  return std::string(parts[1]);
}

absl::StatusOr<std::string> Sealer::Open(const SealContext& context,
                                         absl::string_view sealed) const {
  std::vector<absl::string_view> parts = absl::StrSplit(sealed, '.');
  if (parts.size() != 3 || parts[0] != kVersion) {
    return Unreadable("not a version 1 ciphertext");
  }
  const SealKey* key = nullptr;
  const std::shared_ptr<const std::vector<SealKey>> keys = Keys();
  for (const SealKey& k : *keys) {
    if (k.id == parts[1]) key = &k;
  }
  if (key == nullptr) {
    return Unreadable(
        absl::StrCat("made with encryption key '",
                     ValidKeyId(parts[1]) ? std::string(parts[1]) : "?",
                     "', which is not in the key ring"));
  }
  std::string raw;
  // Only the canonical encoding is accepted, so every change of the text
  // (even in base64's unused trailing bits) is refused.
  if (!absl::WebSafeBase64Unescape(parts[2], &raw) ||
      raw.size() < kNonceBytes + kTagBytes ||
      absl::WebSafeBase64Escape(raw) != parts[2]) {
    return Unreadable("malformed ciphertext");
  }
  const std::string aad = Aad(key->id, context);
  const size_t text_size = raw.size() - kNonceBytes - kTagBytes;
  std::string plaintext(text_size, '\0');
  auto* src = reinterpret_cast<unsigned char*>(&raw[kNonceBytes]);
  CipherPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                         nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes,
                          nullptr) != 1 ||
      EVP_DecryptInit_ex(
          ctx.get(), nullptr, nullptr,
          reinterpret_cast<const unsigned char*>(key->bytes.data()),
          reinterpret_cast<unsigned char*>(raw.data())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(),
                        reinterpret_cast<unsigned char*>(plaintext.data()),
                        &len, src, static_cast<int>(text_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                          src + text_size) != 1 ||
      EVP_DecryptFinal_ex(
          ctx.get(), reinterpret_cast<unsigned char*>(plaintext.data()) + len,
          &len) != 1) {
    return Unreadable(
        "authentication failed (wrong key, tampered, or not this account's "
        "field)");
  }
  return plaintext;
}

absl::StatusOr<std::vector<SealKey>> ParseKeyRing(absl::string_view text) {
  std::vector<SealKey> keys;
  int number = 0;
  for (absl::string_view entry : absl::StrSplit(text, absl::ByAnyChar("\n;"))) {
    ++number;
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty() || entry[0] == '#') continue;
    const size_t colon = entry.find(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "encryption key entry ", number, " is not KEY_ID:BASE64"));
    }
    SealKey key;
    key.id = std::string(entry.substr(0, colon));
    if (!absl::Base64Unescape(entry.substr(colon + 1), &key.bytes)) {
      return absl::InvalidArgumentError(
          absl::StrCat("encryption key '", key.id, "' is not valid base64"));
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

std::string NewKeyRingEntry(const std::string& key_id) {
  std::string bytes(kKeyBytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), kKeyBytes);
  return absl::StrCat(key_id, ":", absl::Base64Escape(bytes));
}

}  // namespace unified::accounts
