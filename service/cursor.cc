#include "service/cursor.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"

namespace unified {
namespace {

constexpr char kVersion = 1;
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

}  // namespace

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

std::string RandomCursorKey() {
  unsigned char key[32];
  RAND_bytes(key, sizeof(key));
  return std::string(reinterpret_cast<char*>(key), sizeof(key));
}

std::string CursorCodec::Mac(const CursorBinding& binding,
                             const std::string& payload) const {
  std::string message(1, kVersion);
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
  raw += Mac(binding, payload);
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
  if (raw.size() < 1 + kMacBytes + 4) return BadCursor("truncated");
  if (raw[0] != kVersion) return BadCursor("unknown version");
  const std::string mac = raw.substr(1, kMacBytes);
  const std::string payload = raw.substr(1 + kMacBytes);
  const std::string expected = Mac(binding, payload);
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
