#include "service/core/tenants.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/error_details.h"

namespace unified {
namespace {

std::string Sha256(absl::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
         digest);
  return std::string(reinterpret_cast<char*>(digest), sizeof(digest));
}

absl::Status Unauthenticated(absl::string_view message,
                             absl::string_view reason) {
  return WithErrorInfo(absl::UnauthenticatedError(message), reason);
}

}  // namespace

absl::StatusOr<TenantAuthenticator> TenantAuthenticator::Parse(
    absl::string_view text) {
  TenantAuthenticator result;
  std::vector<Entry> entries;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    std::string hash;
    if (parts.size() != 2 || !absl::StartsWith(parts[1], "sha256:") ||
        parts[1].size() != 7 + 64 ||
        (hash = absl::HexStringToBytes(parts[1].substr(7))).size() != 32 ||
        parts[0].size() > 64) {
      return absl::InvalidArgumentError(absl::StrCat(
          "API keys line ", number, ": expected 'TENANT_ID sha256:<64 hex>'"));
    }
    for (const Entry& e : entries) {
      if (e.hash == hash) {
        return absl::InvalidArgumentError(absl::StrCat(
            "API keys line ", number, ": the same key hash appears twice"));
      }
    }
    entries.push_back(Entry{std::string(parts[0]), hash});
  }
  result.entries_ = std::make_shared<const std::vector<Entry>>(entries);
  return result;
}

absl::StatusOr<std::string> TenantAuthenticator::TenantOfKey(
    absl::string_view key, std::string* key_hash) const {
  const std::string hash = Sha256(key);
  const std::string* tenant = nullptr;
  // Compare with every entry, in constant time each, whatever matches.
  const std::shared_ptr<const std::vector<Entry>> entries =
      std::atomic_load(&entries_);
  for (const Entry& e : *entries) {
    if (CRYPTO_memcmp(e.hash.data(), hash.data(), hash.size()) == 0) {
      tenant = &e.tenant;
    }
  }
  if (tenant == nullptr || key.empty()) {
    return Unauthenticated("the API key is not valid", "API_KEY_INVALID");
  }
  if (key_hash != nullptr) *key_hash = hash;
  return *tenant;
}

bool TenantAuthenticator::Holds(absl::string_view tenant,
                                absl::string_view key_hash) const {
  const std::shared_ptr<const std::vector<Entry>> entries =
      std::atomic_load(&entries_);
  bool held = false;
  for (const Entry& e : *entries) {
    if (e.hash.size() == key_hash.size() &&
        CRYPTO_memcmp(e.hash.data(), key_hash.data(), key_hash.size()) == 0) {
      held = e.tenant == tenant;
    }
  }
  return held;
}

absl::StatusOr<std::string> TenantAuthenticator::Authenticate(
    const grpc::ServerContextBase& context, std::string* key_hash) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return Unauthenticated(
        "missing API key: send metadata 'authorization: Bearer <key>'",
        "API_KEY_MISSING");
  }
  absl::string_view value(it->second.data(), it->second.size());
  if (!absl::StartsWithIgnoreCase(value, "Bearer ")) {
    return Unauthenticated("the authorization metadata must be 'Bearer <key>'",
                           "API_KEY_MISSING");
  }
  return TenantOfKey(absl::StripAsciiWhitespace(value.substr(7)), key_hash);
}

NewApiKey GenerateApiKey(const std::string& tenant) {
  unsigned char bytes[20];
  RAND_bytes(bytes, sizeof(bytes));
  NewApiKey key;
  key.key = absl::StrCat(
      "uk_", absl::BytesToHexString(absl::string_view(
                 reinterpret_cast<const char*>(bytes), sizeof(bytes))));
  key.line =
      absl::StrCat(tenant, " sha256:", absl::BytesToHexString(Sha256(key.key)));
  return key;
}

}  // namespace unified
