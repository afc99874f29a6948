// Fuzz target: what reaches the hook listener (form-encoded deliveries) and
// Podio's answers to hook management (JSON), with their invariants.
#include <cstddef>
#include <cstdint>
#include <string>

#include "connectors/podio/podio_hooks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  if (auto d = unified::podio::ParseHookDelivery(input); d.ok()) {
    // Accepted deliveries always name a hook and a type; ids are positive.
    if (d->type.empty() || d->hook_id <= 0 || d->space_id < 0 ||
        d->user_id < 0 || input.size() > 64 * 1024) {
      __builtin_trap();
    }
  }
  if (auto id = unified::podio::ParseCreatedHook(input); id.ok()) {
    if (*id <= 0) __builtin_trap();
  }
  (void)unified::podio::ParseHookList(input);
  return 0;
}
