// Fuzz target: names, e-mails and search queries come from providers and
// API callers, and are folded for search (connectors/common/text.h).
// Whatever the bytes, folding never crashes, always gives valid UTF-8
// (checked by re-reading it), is idempotent, and a text contains itself.
#include <cstddef>
#include <cstdint>
#include <string>

#include "connectors/common/json.h"
#include "connectors/common/text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string folded = unified::FoldCase(input);
  if (!unified::json::CheckUtf8(folded).ok()) __builtin_trap();
  if (unified::FoldCase(folded) != folded) __builtin_trap();
  if (!unified::ContainsFolded(input, folded)) __builtin_trap();
  return 0;
}
