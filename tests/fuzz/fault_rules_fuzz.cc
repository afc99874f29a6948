// Fuzz target: the simulator's fault rules (admin API and --faults input) and
// its path globs.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tools/podio_sim/faults.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)unified::podio_sim::ParseFaultRule(text);
  (void)unified::podio_sim::ParseFaultRules(text);
  const size_t half = size / 2;
  (void)unified::podio_sim::GlobMatch(text.substr(0, half), text.substr(half));
  return 0;
}
