// Fuzz target: Podio error bodies and status codes into absl::Status.
#include <cstddef>
#include <cstdint>
#include <string>

#include "connectors/common/error_details.h"
#include "connectors/podio/podio_errors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const int status = 100 + (data[0] << 8 | data[1]) % 500;
  const std::string body(reinterpret_cast<const char*>(data + 2), size - 2);
  const absl::Status s = unified::podio::StatusForHttpError(status, body);
  if (s.ok() || !unified::GetErrorInfo(s).has_value()) __builtin_trap();
  (void)unified::podio::ParseRateLimitWait(body);
  (void)unified::podio::IsExpiredToken(status,
                                       unified::podio::ReadPodioError(body));
  return 0;
}
