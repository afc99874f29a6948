// The HTTP seam: connectors talk to their provider only through HttpClient,
// so tests can substitute a fake and production uses libcurl.
#ifndef CONNECTORS_COMMON_HTTP_CLIENT_H_
#define CONNECTORS_COMMON_HTTP_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace unified {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  // What HttpClient::Send gets: an absolute http(s) URL. Connectors'
  // requests (and the proxy's) carry the path and query only; the
  // connector's pipeline puts its API base in front.
  std::string url;
  HttpHeaders headers;
  std::string body;
  // True: the client offers every content coding it can decode (gzip,
  // deflate, ...) and hands the body over decoded. False: the request's own
  // Accept-Encoding (if any) goes out as it is, and the body comes back as
  // sent, its Content-Encoding and Content-Length kept (the proxy's
  // pass-through).
  bool decode_content = true;
  // Whole-transfer budget (connect + send + receive); infinite = none.
  absl::Duration timeout = absl::Seconds(30);
  // Polled during the transfer; returning true aborts it with CANCELLED.
  std::function<bool()> cancelled;
  // When set, the body is not collected: each piece goes here as it
  // arrives, after the status and headers (in `head`) are known; returning
  // false aborts the transfer with CANCELLED. The response size cap does
  // not apply (the callback bounds what it keeps).
  std::function<bool(const struct HttpResponse& head, absl::string_view piece)>
      on_body;
  // When set, every connection this exchange opens is first shown here by
  // its peer's numeric address ("203.0.113.7", "2001:db8::1"); false refuses
  // it before any byte is sent, and the exchange fails UNAVAILABLE with
  // TransportFailure::kRefusedPeer. The check sees the address actually
  // connected to, so a name that resolves differently between an earlier
  // check and the connect (DNS rebinding) gains nothing. A kept-alive
  // connection is not checked again: give checked exchanges a client of
  // their own.
  std::function<bool(absl::string_view address)> allow_peer;
};

// The kind of a transport failure, read from the status Send returned (a
// payload the client sets; never from the message).
enum class TransportFailure {
  kNone,         // Not a transport failure (OK, or another error).
  kConnect,      // The host did not resolve, or refused or dropped the connect.
  kRefusedPeer,  // allow_peer refused the address.
  kTls,          // The TLS handshake or the peer's certificate failed.
  kTimeout,      // The exchange ran out of time.
  kOther,        // Reset, truncated, or not HTTP.
};
TransportFailure TransportFailureOf(const absl::Status& status);

struct HttpResponse {
  int status = 0;
  // Names lower-cased, in arrival order. Bodies arrive decoded unless the
  // request said otherwise: a decoded response has its Content-Encoding and
  // Content-Length removed.
  HttpHeaders headers;
  std::string body;
  // New connections this exchange opened (0 when a kept-alive one was
  // reused).
  int64_t new_connections = 0;

  // The last value of header `name` (case-insensitive), or "".
  std::string Header(absl::string_view name) const;
};

// Thread-safe: Send may be called from many threads at once.
class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Performs one exchange. Any HTTP status is a successful result; errors are
  // transport failures: DEADLINE_EXCEEDED (timeout), UNAVAILABLE (connect,
  // reset, truncated body, TLS failure), RESOURCE_EXHAUSTED (response larger
  // than allowed), INVALID_ARGUMENT (malformed request). Redirects are never
  // followed. Error messages never contain header values. CANCELLED when
  // `request.cancelled` said so.
  virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

struct CurlHttpClientOptions {
  // PEM bundle of CAs to trust for https instead of the system's; "" = system.
  // TLS peer and host verification are always on.
  std::string ca_file;
  // Responses with a larger body fail RESOURCE_EXHAUSTED.
  size_t max_response_bytes = 16 * 1024 * 1024;
  absl::Duration connect_timeout = absl::Seconds(10);
  // Abort when fewer than `low_speed_bytes` per second arrive for
  // `low_speed_time` (a stalled peer).
  int64_t low_speed_bytes = 1;
  absl::Duration low_speed_time = absl::Seconds(30);
  std::string user_agent = "unified-directory/1";
};

// Decodes in place the body of `response`, received with decode_content
// false: gzip (or x-gzip) is inflated, identity (or none) left as it is;
// Content-Encoding and Content-Length are removed as for a decoded answer.
// UNIMPLEMENTED for another coding, DATA_LOSS for a body that is not what
// its coding says (corrupt, truncated, trailing bytes), RESOURCE_EXHAUSTED
// when it would inflate past `max_bytes`. On error the response is as it
// was.
absl::Status DecodeContent(HttpResponse& response, size_t max_bytes);

// Percent-encodes everything but RFC 3986's unreserved characters, for
// query strings and application/x-www-form-urlencoded bodies.
std::string UrlEncode(absl::string_view text);
// Its inverse for application/x-www-form-urlencoded text ('+' is a space);
// false on a malformed escape (`*out` is then unspecified).
bool FormDecode(absl::string_view in, std::string* out);

// A libcurl client keeping a pool of easy handles, so connections are reused
// (keep-alive) across calls.
std::unique_ptr<HttpClient> NewCurlHttpClient(CurlHttpClientOptions options);

// Many exchanges at once on one event-loop thread (libcurl's multi
// interface): no thread per request, connections kept alive and reused per
// host. Thread-safe.
class AsyncHttpClient {
 public:
  using Done = std::function<void(absl::StatusOr<HttpResponse>)>;
  // Destroying the client ends the exchanges still in flight with
  // CANCELLED (their `done` runs first).
  virtual ~AsyncHttpClient() = default;
  // Starts `request`; `done` runs exactly once, on the event-loop thread,
  // with what HttpClient::Send would return. It must not block (hand the
  // work elsewhere) and may call Start again.
  virtual void Start(HttpRequest request, Done done) = 0;
  // Exchanges started and not yet done.
  virtual int in_flight() const = 0;
  // Asks every exchange's `cancelled` now (else within 100 ms), so that a
  // caller that cancelled sees its `done` run at once.
  virtual void PollCancelled() = 0;
};

std::unique_ptr<AsyncHttpClient> NewCurlMultiClient(
    CurlHttpClientOptions options);

}  // namespace unified

#endif  // CONNECTORS_COMMON_HTTP_CLIENT_H_
