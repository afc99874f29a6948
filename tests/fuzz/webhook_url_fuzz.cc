// Fuzz target: webhook endpoint URLs and secrets come from API callers.
// Whatever the bytes, parsing never crashes, a parsed host is never empty
// nor longer than the input, and the address and secret checks hold their
// contracts.
#include <cstddef>
#include <cstdint>
#include <string>

#include "service/webhooks/payloads.h"
#include "service/webhooks/webhook_url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<unified::webhooks::ParsedUrl> parsed =
      unified::webhooks::ParseWebhookUrl(input);
  if (parsed.ok()) {
    if (parsed->host.empty() || parsed->host.size() > size) __builtin_trap();
    if (parsed->port < 0 || parsed->port > 65535) __builtin_trap();
  }
  bool loopback = false;
  const bool internal = unified::webhooks::IsInternalAddress(input, &loopback);
  if (loopback && !internal) __builtin_trap();
  absl::StatusOr<std::string> key = unified::webhooks::SecretKey(input);
  if (key.ok() && (key->size() < 24 || key->size() > 64)) __builtin_trap();
  return 0;
}
