// Fuzz target: what callers and upstream answers put where the service reads
// it for logs and metrics: request ids (x-request-id, traceparent), the
// route labels of proxied paths, and the status details gRPC hands back.
// Never crashes; a request id is empty or 1 to 128 printable characters
// without a quote or backslash (safe in a JSON log line); a route label is
// one of the declared templates or "proxy", never the caller's text.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "connectors/common/upstream_observer.h"
#include "service/core/grpc_status.h"
#include "service/api/observability.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t half = size / 2;
  const std::string id =
      unified::RequestIdFrom(input.substr(0, half), input.substr(half));
  if (id.size() > 128) __builtin_trap();
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') __builtin_trap();
  }
  static const std::vector<std::string> kTemplates = {
      "/org/", "/org/{id}", "/org/{id}/member/{id}", "/Users/{id}"};
  static const unified::RouteTable* const routes =
      new unified::RouteTable(kTemplates);
  const std::string route = routes->Label(input);
  if (route != unified::kUnlistedRoute &&
      std::find(kTemplates.begin(), kTemplates.end(), route) ==
          kTemplates.end()) {
    __builtin_trap();
  }
  // Status details as gRPC hands them back (any bytes).
  for (grpc::StatusCode code : {grpc::INTERNAL, grpc::UNAVAILABLE}) {
    const grpc::Status completed =
        unified::CompleteStatus(grpc::Status(code, "", input), true);
    if (completed.ok()) __builtin_trap();
  }
  const std::string json = unified::JsonQuote(input);
  if (json.size() < 2 || json.front() != '"' || json.back() != '"') {
    __builtin_trap();
  }
  return 0;
}
