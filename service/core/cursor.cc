#include "service/core/cursor.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"

namespace unified {
namespace {

// Version 1: [1][MAC][payload]. Version 2 (sealed now) names its key:
// [2][key id][MAC][payload].
constexpr char kVersion1 = 1;
constexpr char kVersion = 2;
constexpr size_t kKeyIdBytes = 4;
constexpr size_t kMacBytes = 16;  // Truncated HMAC-SHA256.
constexpr size_t kMaxCursorChars = 16384;

void AppendField(std::string* out, const std::string& field) {
  // Length-prefixed, so that fields cannot run into each other.
  absl::StrAppend(out, field.size(), ":", field, ";");
}

absl::Status BadCursor(absl::string_view why) {
  return WithErrorInfo(
      absl::InvalidArgumentError(absl::StrCat("invalid cursor: ", why)),
      "INVALID_CURSOR");
}

std::string KeyId(const std::string& key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(),
         digest);
  return std::string(reinterpret_cast<char*>(digest), kKeyIdBytes);
}

}  // namespace

absl::Status CursorKeyUnknown(absl::string_view what) {
  return WithErrorInfo(
      absl::FailedPreconditionError(absl::StrCat(
          "this ", what,
          " was issued under a cursor key this server does not have (it "
          "restarted without a kept key, or replicas have different "
          "--cursor_key_file): start again without it")),
      "CURSOR_KEY_UNKNOWN");
}

CursorCodec::CursorCodec(std::string key)
    : key_(std::move(key)), key_id_(KeyId(key_)) {}

bool CursorCodec::SealedUnderAnotherKey(const std::string& cursor) const {
  if (cursor.empty() || cursor.size() > kMaxCursorChars) return false;
  std::string raw;
  if (!absl::WebSafeBase64Unescape(cursor, &raw)) return false;
  return raw.size() >= 1 + kKeyIdBytes + kMacBytes + 4 && raw[0] == kVersion &&
         raw.compare(1, kKeyIdBytes, key_id_) != 0;
}

std::string SealPosition(const CursorCodec& codec, const CursorBinding& binding,
                         const SealedPosition& position) {
  CursorState state;
  state.page_token = position.scope.empty()
                         ? absl::StrCat(position.seq)
                         : absl::StrCat(position.scope, ":", position.seq);
  return codec.Seal(binding, state);
}

std::optional<SealedPosition> OpenPosition(const CursorCodec& codec,
                                           const CursorBinding& binding,
                                           const std::string& token) {
  absl::StatusOr<CursorState> opened = codec.Open(binding, token);
  if (!opened.ok()) return std::nullopt;
  const std::string& text = opened->page_token;
  const size_t colon = text.rfind(':');
  SealedPosition position;
  if (colon != std::string::npos) position.scope = text.substr(0, colon);
  const absl::string_view seq = colon == std::string::npos
                                    ? absl::string_view(text)
                                    : absl::string_view(text).substr(colon + 1);
  if (!absl::SimpleAtoi(seq, &position.seq) || position.seq < 0) {
    return std::nullopt;
  }
  return position;
}

absl::StatusOr<std::string> KeptCursorKey(const std::string& dir) {
  const std::string path = dir + "/cursor.key";
  const std::string fresh = RandomCursorKey();
  const int created = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (created >= 0) {
    const bool written =
        write(created, fresh.data(), fresh.size()) ==
            static_cast<ssize_t>(fresh.size()) &&
        fsync(created) == 0;
    close(created);
    if (!written) {
      unlink(path.c_str());
      return absl::FailedPreconditionError(
          absl::StrCat("cannot write the cursor key ", path));
    }
    return fresh;
  }
  if (errno != EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the cursor key ", path));
  }
  // Another process may be writing it this moment: read until it is whole.
  std::string key;
  for (int attempt = 0; attempt < 50; ++attempt) {
    struct stat st{};
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0 || fstat(fd, &st) != 0) {
      if (fd >= 0) close(fd);
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read the cursor key ", path));
    }
    if ((st.st_mode & 077) != 0) {
      close(fd);
      return absl::FailedPreconditionError(absl::StrCat(
          "the cursor key ", path, " is readable by group or others"));
    }
    key.assign(static_cast<size_t>(st.st_size), '\0');
    const ssize_t got = read(fd, key.data(), key.size());
    close(fd);
    if (got == static_cast<ssize_t>(key.size()) && key.size() >= 32) {
      return key;
    }
    usleep(10000);
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "the cursor key ", path, " holds fewer than 32 bytes"));
}

std::string RandomCursorKey() {
  unsigned char key[32];
  RAND_bytes(key, sizeof(key));
  return std::string(reinterpret_cast<char*>(key), sizeof(key));
}

std::string CursorCodec::Mac(char version, const CursorBinding& binding,
                             const std::string& payload) const {
  std::string message(1, version);
  AppendField(&message, binding.tenant);
  AppendField(&message, binding.account_id);
  AppendField(&message, binding.resource);
  AppendField(&message, binding.filters);
  AppendField(&message, payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       mac, &mac_len);
  return std::string(reinterpret_cast<char*>(mac), kMacBytes);
}

std::string CursorCodec::Seal(const CursorBinding& binding,
                              const CursorState& state) const {
  std::string payload;
  const uint32_t skip = state.skip;
  payload.push_back(static_cast<char>(skip >> 24));
  payload.push_back(static_cast<char>(skip >> 16));
  payload.push_back(static_cast<char>(skip >> 8));
  payload.push_back(static_cast<char>(skip));
  payload += state.page_token;
  std::string raw(1, kVersion);
  raw += key_id_;
  raw += Mac(kVersion, binding, payload);
  raw += payload;
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<CursorState> CursorCodec::Open(const CursorBinding& binding,
                                              const std::string& cursor) const {
  if (cursor.empty()) return CursorState{};
  if (cursor.size() > kMaxCursorChars) return BadCursor("too long");
  std::string raw;
  if (!absl::WebSafeBase64Unescape(cursor, &raw)) {
    return BadCursor("not base64url");
  }
  if (raw.empty() || (raw[0] != kVersion && raw[0] != kVersion1)) {
    return BadCursor("unknown version");
  }
  const char version = raw[0];
  const size_t id_bytes = version == kVersion ? kKeyIdBytes : 0;
  if (raw.size() < 1 + id_bytes + kMacBytes + 4) return BadCursor("truncated");
  if (id_bytes > 0 && raw.compare(1, kKeyIdBytes, key_id_) != 0) {
    return CursorKeyUnknown("cursor");
  }
  const std::string mac = raw.substr(1 + id_bytes, kMacBytes);
  const std::string payload = raw.substr(1 + id_bytes + kMacBytes);
  const std::string expected = Mac(version, binding, payload);
  if (CRYPTO_memcmp(mac.data(), expected.data(), kMacBytes) != 0) {
    return BadCursor(
        "not issued for this account, listing and filters, or altered");
  }
  CursorState state;
  state.skip =
      (static_cast<uint32_t>(static_cast<unsigned char>(payload[0])) << 24) |
      (static_cast<uint32_t>(static_cast<unsigned char>(payload[1])) << 16) |
      (static_cast<uint32_t>(static_cast<unsigned char>(payload[2])) << 8) |
      static_cast<uint32_t>(static_cast<unsigned char>(payload[3]));
  state.page_token = payload.substr(4);
  return state;
}

}  // namespace unified
