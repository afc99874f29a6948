// Fuzz target: what callers and upstream answers put where the service reads
// it for logs and metrics: request ids (x-request-id, traceparent), route
// templates of proxied paths, and the status details gRPC hands back. Never
// crashes; a request id is empty or 1 to 128 printable characters without a
// quote or backslash (safe in a JSON log line); a route template has no
// query and at most 9 segments.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_split.h"
#include "connectors/common/upstream_observer.h"
#include "service/grpc_status.h"
#include "service/observability.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t half = size / 2;
  const std::string id =
      unified::RequestIdFrom(input.substr(0, half), input.substr(half));
  if (id.size() > 128) __builtin_trap();
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') __builtin_trap();
  }
  const std::string route = unified::RouteTemplate(input);
  if (route.find('?') != std::string::npos) __builtin_trap();
  if (std::vector<std::string>(absl::StrSplit(route, '/')).size() > 10) {
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
