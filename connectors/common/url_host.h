// The host of a URL or a listen address, and whether it is loopback:
// decided by parsing, never by a prefix ("127.attacker.example" is a name,
// "http://127.0.0.1:1@other/" goes to "other").
#ifndef CONNECTORS_COMMON_URL_HOST_H_
#define CONNECTORS_COMMON_URL_HOST_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace unified {

struct HttpUrl {
  bool https = false;
  std::string host;  // Without an IPv6 literal's brackets.
  int port = 0;      // 0: the scheme's.
};

// An http(s) URL's scheme, host and port. INVALID_ARGUMENT for another
// scheme, userinfo ("user@"), a malformed host or port, or a space or
// control character anywhere.
absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url);

// "host:port" or "[v6]:port" (a listen address): the host, brackets
// removed; "" when malformed.
std::string ListenHost(absl::string_view listen);

// "localhost", an IPv4 address in 127.0.0.0/8 or ::1 (an IP literal, not a
// name that starts like one).
bool IsLoopbackHost(absl::string_view host);

}  // namespace unified

#endif  // CONNECTORS_COMMON_URL_HOST_H_
