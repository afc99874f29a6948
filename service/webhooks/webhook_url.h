// Which URLs outbound webhooks may be sent to (SSRF rules): https only, or
// http to a loopback host when allowed; no credentials in the URL; and no
// host that resolves to a private, loopback, link-local or otherwise
// internal address unless allowed. Checked when the endpoint is set and
// again before every delivery (a name may resolve elsewhere later).
#ifndef SERVICE_WEBHOOKS_WEBHOOK_URL_H_
#define SERVICE_WEBHOOKS_WEBHOOK_URL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "connectors/common/url_host.h"

namespace unified::webhooks {

struct UrlPolicy {
  // http:// to a loopback host (127.0.0.0/8, ::1, "localhost"), and
  // loopback addresses at all: for tests and local receivers.
  bool allow_http_loopback = false;
  // Private (RFC 1918, fc00::/7), link-local, CGNAT and other internal
  // ranges.
  bool allow_private = false;
};

// A webhook URL's parts that the rules look at (scheme, host, port).
using ParsedUrl = HttpUrl;

// Parses without resolving: INVALID_ARGUMENT (INVALID_WEBHOOK_URL) for a
// scheme other than http(s), credentials, or a malformed host or port.
absl::StatusOr<ParsedUrl> ParseWebhookUrl(absl::string_view url);

// OK, or INVALID_ARGUMENT (reason INVALID_WEBHOOK_URL) saying why.
// Resolves the host (getaddrinfo) to check every address it has.
absl::Status CheckWebhookUrl(const std::string& url, const UrlPolicy& policy);

// Whether the textual IPv4 or IPv6 address is internal: in a range of the
// IANA special-purpose registries that is not globally reachable (a table
// in webhook_url.cc, one row a range), multicast, reserved, or deprecated;
// an address that carries an IPv4 one (IPv4-mapped, NAT64, 6to4) is judged
// by it. `loopback` is set when it is a loopback address. False for
// anything that does not parse as an address.
bool IsInternalAddress(absl::string_view address, bool* loopback);

// Whether a delivery may connect to the numeric `address`: what
// CheckWebhookUrl asks of each address a host resolves to, asked again of
// the address actually connected to (HttpRequest::allow_peer), so a name
// that resolves elsewhere by then (DNS rebinding) is refused. Plain http
// goes only to loopback, and only when the policy allows it.
bool PeerAllowed(absl::string_view address, bool https,
                 const UrlPolicy& policy);

}  // namespace unified::webhooks

#endif  // SERVICE_WEBHOOKS_WEBHOOK_URL_H_
