#include "service/webhooks/webhook_url.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/url_host.h"

namespace unified::webhooks {
namespace {

absl::Status Refused(absl::string_view why) {
  return WithErrorInfo(
      absl::InvalidArgumentError(absl::StrCat("webhook url refused: ", why)),
      "INVALID_WEBHOOK_URL");
}

// What an address in a special-purpose range is, for webhooks.
enum class Kind {
  kInternal,  // Never a webhook target (unless private ones are allowed).
  kLoopback,  // Internal, and loopback.
  kEmbedsV4,  // Judged by the IPv4 address it carries.
};

struct Range4 {
  uint32_t net;
  int bits;
  Kind kind;
  const char* name;
};

// The IANA IPv4 Special-Purpose Address Registry's ranges that are not
// globally reachable, with multicast and the reserved 240/4 (broadcast
// included). Whole blocks are refused where the registry carves out a few
// reachable hosts (192.0.0.0/24).
constexpr Range4 kSpecial4[] = {
    {0x00000000, 8, Kind::kInternal, "this network"},
    {0x0a000000, 8, Kind::kInternal, "private use"},
    {0x64400000, 10, Kind::kInternal, "shared address space"},
    {0x7f000000, 8, Kind::kLoopback, "loopback"},
    {0xa9fe0000, 16, Kind::kInternal, "link local"},
    {0xac100000, 12, Kind::kInternal, "private use"},
    {0xc0000000, 24, Kind::kInternal, "IETF protocol assignments"},
    {0xc0000200, 24, Kind::kInternal, "documentation (TEST-NET-1)"},
    {0xc0586300, 24, Kind::kInternal, "6to4 relay anycast"},
    {0xc0a80000, 16, Kind::kInternal, "private use"},
    {0xc6120000, 15, Kind::kInternal, "benchmarking"},
    {0xc6336400, 24, Kind::kInternal, "documentation (TEST-NET-2)"},
    {0xcb007100, 24, Kind::kInternal, "documentation (TEST-NET-3)"},
    {0xe0000000, 4, Kind::kInternal, "multicast"},
    {0xf0000000, 4, Kind::kInternal, "reserved and broadcast"},
};

struct Range6 {
  uint8_t net[16];
  int bits;
  Kind kind;
  int v4_at;  // kEmbedsV4: the byte where the IPv4 address starts.
  const char* name;
};

// The IANA IPv6 Special-Purpose Address Registry's ranges that are not
// globally reachable, and those that carry an IPv4 address (judged by it),
// with the deprecated IPv4-compatible and site-local ranges and multicast.
// The first matching row decides.
constexpr Range6 kSpecial6[] = {
    {{0}, 128, Kind::kInternal, 0, "unspecified"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
     128,
     Kind::kLoopback,
     0,
     "loopback"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff},
     96,
     Kind::kEmbedsV4,
     12,
     "IPv4-mapped"},
    {{0}, 96, Kind::kInternal, 0, "IPv4-compatible (deprecated)"},
    {{0, 0x64, 0xff, 0x9b}, 96, Kind::kEmbedsV4, 12, "NAT64 well-known"},
    {{0, 0x64, 0xff, 0x9b, 0, 1}, 48, Kind::kInternal, 0, "NAT64 local use"},
    {{0x01, 0x00}, 64, Kind::kInternal, 0, "discard-only"},
    {{0x20, 0x01}, 23, Kind::kInternal, 0, "IETF protocol assignments"},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, Kind::kInternal, 0, "documentation"},
    {{0x20, 0x02}, 16, Kind::kEmbedsV4, 2, "6to4"},
    {{0x3f, 0xff}, 20, Kind::kInternal, 0, "documentation"},
    {{0x5f, 0x00}, 16, Kind::kInternal, 0, "segment routing (SRv6) SIDs"},
    {{0xfc}, 7, Kind::kInternal, 0, "unique local"},
    {{0xfe, 0x80}, 10, Kind::kInternal, 0, "link-local unicast"},
    {{0xfe, 0xc0}, 10, Kind::kInternal, 0, "site-local (deprecated)"},
    {{0xff}, 8, Kind::kInternal, 0, "multicast"},
};

bool Internal4(uint32_t a, bool* loopback) {
  *loopback = false;
  for (const Range4& r : kSpecial4) {
    if ((a >> (32 - r.bits)) != (r.net >> (32 - r.bits))) continue;
    *loopback = r.kind == Kind::kLoopback;
    return true;
  }
  return false;
}

bool InPrefix(const uint8_t* address, const Range6& r) {
  const int whole = r.bits / 8, rest = r.bits % 8;
  if (std::memcmp(address, r.net, whole) != 0) return false;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (address[whole] & mask) == (r.net[whole] & mask);
}

}  // namespace

bool IsInternalAddress(absl::string_view address, bool* loopback) {
  *loopback = false;
  const std::string text(address);
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return Internal4(ntohl(v4.s_addr), loopback);
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return false;
  const uint8_t* b = v6.s6_addr;
  for (const Range6& r : kSpecial6) {
    if (!InPrefix(b, r)) continue;
    if (r.kind != Kind::kEmbedsV4) {
      *loopback = r.kind == Kind::kLoopback;
      return true;
    }
    const uint8_t* v = b + r.v4_at;
    return Internal4((uint32_t{v[0]} << 24) | (uint32_t{v[1]} << 16) |
                         (uint32_t{v[2]} << 8) | v[3],
                     loopback);
  }
  return false;
}

absl::StatusOr<ParsedUrl> ParseWebhookUrl(absl::string_view url) {
  if (url.size() > 2048) return Refused("longer than 2048 bytes");
  for (char ch : url) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f) {
      return Refused("a space, control or non-ASCII character");
    }
  }
  // Schemes are case-insensitive (RFC 3986); the shared parser reads them
  // in lower case.
  std::string lowered(url);
  const size_t scheme_end = lowered.find("://");
  if (scheme_end != std::string::npos) {
    absl::AsciiStrToLower(&lowered);
    lowered.replace(scheme_end, std::string::npos,
                    std::string(url.substr(scheme_end)));
  }
  absl::StatusOr<ParsedUrl> out = ParseHttpUrl(lowered);
  if (!out.ok()) return Refused(out.status().message());
  for (char ch : out->host) {
    if (!absl::ascii_isalnum(ch) && ch != '.' && ch != '-' && ch != ':' &&
        ch != '_') {
      return Refused("a malformed host");
    }
  }
  return out;
}

bool PeerAllowed(absl::string_view address, bool https,
                 const UrlPolicy& policy) {
  bool loopback = false;
  const bool internal = IsInternalAddress(address, &loopback);
  if (!https && !(policy.allow_http_loopback && loopback)) return false;
  if (!internal) return true;
  return loopback ? policy.allow_http_loopback || policy.allow_private
                  : policy.allow_private;
}

absl::Status CheckWebhookUrl(const std::string& url, const UrlPolicy& policy) {
  absl::StatusOr<ParsedUrl> parsed = ParseWebhookUrl(url);
  if (!parsed.ok()) return parsed.status();
  const std::string& host = parsed->host;
  const bool https = parsed->https;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 ||
      found == nullptr) {
    return Refused(absl::StrCat("the host '", host, "' does not resolve"));
  }
  absl::Status verdict = absl::OkStatus();
  for (addrinfo* a = found; a != nullptr && verdict.ok(); a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {0};
    const void* raw =
        a->ai_family == AF_INET
            ? static_cast<const void*>(
                  &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
            : static_cast<const void*>(
                  &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    inet_ntop(a->ai_family, raw, text, sizeof(text));
    if (PeerAllowed(text, /*https=*/true, policy)) {
      if (https || PeerAllowed(text, /*https=*/false, policy)) continue;
      verdict = Refused(
          "the scheme must be https (http only to loopback, when "
          "the server allows it)");
    } else {
      verdict = Refused(absl::StrCat("the host '", host,
                                     "' resolves to an internal address (",
                                     text, ")"));
    }
  }
  freeaddrinfo(found);
  return verdict;
}

}  // namespace unified::webhooks
