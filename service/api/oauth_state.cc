#include "service/api/oauth_state.h"

#include <openssl/rand.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"

namespace unified {
namespace {

constexpr char kStateResource[] = "oauth_state";
// Fields of the first releases (5), then the provider, then the link
// session and the page's mode.
constexpr size_t kMinFields = 5;
constexpr size_t kMaxFields = 8;

// Length-prefixed, so that no field can run into another. A state outside
// the connect page has the six fields replicas of the previous release
// read too.
std::string Encode(const OAuthState& s) {
  std::vector<std::string> parts = {
      s.tenant,       s.nonce,      absl::StrCat(absl::ToUnixMillis(s.expires)),
      s.redirect_uri, s.account_id, s.provider};
  if (!s.link_hash.empty() || !s.mode.empty()) {
    parts.push_back(s.link_hash);
    parts.push_back(s.mode);
  }
  std::string out;
  for (const std::string& part : parts) {
    absl::StrAppend(&out, part.size(), ":", part);
  }
  return out;
}

bool Decode(absl::string_view text, OAuthState* s) {
  std::vector<std::string> parts;
  while (!text.empty() && parts.size() < kMaxFields) {
    const size_t colon = text.find(':');
    size_t n = 0;
    if (colon == absl::string_view::npos ||
        !absl::SimpleAtoi(text.substr(0, colon), &n) ||
        n > text.size() - colon - 1) {
      return false;
    }
    parts.emplace_back(text.substr(colon + 1, n));
    text.remove_prefix(colon + 1 + n);
  }
  int64_t expires_ms = 0;
  if (parts.size() < kMinFields || !text.empty() ||
      !absl::SimpleAtoi(parts[2], &expires_ms)) {
    return false;
  }
  parts.resize(kMaxFields);
  s->tenant = parts[0];
  s->nonce = parts[1];
  s->expires = absl::FromUnixMillis(expires_ms);
  s->redirect_uri = parts[3];
  s->account_id = parts[4];
  s->provider = parts[5];
  s->link_hash = parts[6];
  s->mode = parts[7];
  return true;
}

}  // namespace

std::string NewStateNonce() {
  unsigned char nonce[16];
  RAND_bytes(nonce, sizeof(nonce));
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(nonce), sizeof(nonce)));
}

std::string SealOAuthState(const CursorCodec& signer, const OAuthState& state) {
  return signer.Seal(CursorBinding{"", "", kStateResource, ""},
                     CursorState{Encode(state), 0});
}

absl::StatusOr<OAuthState> OpenOAuthState(const CursorCodec& signer,
                                          const std::string& text) {
  absl::StatusOr<CursorState> opened =
      signer.Open(CursorBinding{"", "", kStateResource, ""}, text);
  OAuthState state;
  if (!opened.ok() || opened->page_token.empty() ||
      !Decode(opened->page_token, &state)) {
    return WithErrorInfo(absl::InvalidArgumentError(
                             "invalid OAuth state: not issued by this service"),
                         "INVALID_STATE");
  }
  return state;
}

}  // namespace unified
