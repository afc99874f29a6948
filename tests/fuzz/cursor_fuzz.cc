// Fuzz target: cursors from clients. Opening never crashes; what opens is
// what this codec sealed (base64 may spell the same bytes more than one way).
#include <cstddef>
#include <cstdint>
#include <string>

#include "service/core/cursor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const unified::CursorCodec codec(std::string(32, 'k'));
  const unified::CursorBinding binding{"t", "a", "users", ""};
  const std::string cursor(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<unified::CursorState> state = codec.Open(binding, cursor);
  if (state.ok() && !cursor.empty()) {
    absl::StatusOr<unified::CursorState> again =
        codec.Open(binding, codec.Seal(binding, *state));
    if (!again.ok() || again->page_token != state->page_token ||
        again->skip != state->skip) {
      __builtin_trap();
    }
  }
  // Round trip of arbitrary payloads.
  if (size <= 8192) {
    unified::CursorState any{cursor, static_cast<uint32_t>(size)};
    absl::StatusOr<unified::CursorState> back =
        codec.Open(binding, codec.Seal(binding, any));
    if (!back.ok() || back->page_token != cursor || back->skip != size) {
      __builtin_trap();
    }
  }
  return 0;
}
