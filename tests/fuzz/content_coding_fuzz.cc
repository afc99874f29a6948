// Fuzz target: bodies read ahead arrive as the provider coded them and are
// decoded by DecodeContent. Whatever the bytes, it never crashes, never
// inflates past its cap, and leaves the response untouched when it fails.
#include <cstddef>
#include <cstdint>
#include <string>

#include "connectors/common/http_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kCap = 1 << 16;
  for (const char* coding : {"gzip", "identity", "x-gzip", "br"}) {
    unified::HttpResponse response;
    response.status = 200;
    response.headers = {{"content-encoding", coding},
                        {"content-length", std::to_string(size)}};
    response.body.assign(reinterpret_cast<const char*>(data), size);
    const unified::HttpResponse before = response;
    absl::Status decoded = unified::DecodeContent(response, kCap);
    if (decoded.ok()) {
      if (response.body.size() > kCap) __builtin_trap();
      if (!response.Header("content-encoding").empty()) __builtin_trap();
    } else if (response.body != before.body ||
               response.headers != before.headers) {
      __builtin_trap();
    }
  }
  return 0;
}
