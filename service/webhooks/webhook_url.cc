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

namespace unified::webhooks {
namespace {

absl::Status Refused(absl::string_view why) {
  return WithErrorInfo(
      absl::InvalidArgumentError(absl::StrCat("webhook url refused: ", why)),
      "INVALID_WEBHOOK_URL");
}

bool Internal4(uint32_t a, bool* loopback) {
  const auto in = [a](uint32_t net, int bits) {
    return bits == 0 || (a >> (32 - bits)) == (net >> (32 - bits));
  };
  *loopback = in(0x7f000000, 8);
  return *loopback || in(0x00000000, 8) || in(0x0a000000, 8) ||
         in(0xac100000, 12) || in(0xc0a80000, 16) || in(0xa9fe0000, 16) ||
         in(0x64400000, 10) || in(0xc0000000, 24) || in(0xc6120000, 15) ||
         in(0xe0000000, 3);  // Multicast and reserved (224/3).
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
  static const uint8_t kZero[16] = {0};
  if (std::memcmp(b, kZero, 15) == 0 && (b[15] == 0 || b[15] == 1)) {
    *loopback = b[15] == 1;
    return true;  // :: and ::1.
  }
  // IPv4-mapped (::ffff:a.b.c.d): the IPv4 rules.
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(b, kMapped, 12) == 0) {
    return Internal4((uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) |
                         (uint32_t{b[14]} << 8) | b[15],
                     loopback);
  }
  return (b[0] & 0xfe) == 0xfc ||                    // fc00::/7 unique local
         (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||  // fe80::/10 link-local
         b[0] == 0xff;                               // multicast
}

absl::StatusOr<ParsedUrl> ParseWebhookUrl(absl::string_view url) {
  if (url.size() > 2048) return Refused("longer than 2048 bytes");
  ParsedUrl out;
  absl::string_view rest = url;
  if (absl::StartsWithIgnoreCase(rest, "https://")) {
    out.https = true;
    rest.remove_prefix(8);
  } else if (absl::StartsWithIgnoreCase(rest, "http://")) {
    rest.remove_prefix(7);
  } else {
    return Refused("the scheme must be https");
  }
  const absl::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (absl::StrContains(authority, "@")) {
    return Refused("credentials in the URL");
  }
  absl::string_view port_text;
  if (absl::StartsWith(authority, "[")) {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) return Refused("a malformed host");
    out.host = std::string(authority.substr(1, close - 1));
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Refused("a malformed host");
      port_text = after.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) {
      port_text = authority.substr(colon + 1);
    }
  }
  if (!port_text.empty() && (!absl::SimpleAtoi(port_text, &out.port) ||
                             out.port < 1 || out.port > 65535)) {
    return Refused("a malformed port");
  }
  if (out.host.empty()) return Refused("no host");
  for (char ch : out.host) {
    if (!absl::ascii_isalnum(ch) && ch != '.' && ch != '-' && ch != ':' &&
        ch != '_') {
      return Refused("a malformed host");
    }
  }
  return out;
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
  bool all_loopback = true;
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
    bool loopback = false;
    const bool internal = IsInternalAddress(text, &loopback);
    all_loopback = all_loopback && loopback;
    if (!internal) continue;
    if (loopback ? !(policy.allow_http_loopback || policy.allow_private)
                 : !policy.allow_private) {
      verdict = Refused(absl::StrCat("the host '", host,
                                     "' resolves to an internal address (",
                                     text, ")"));
    }
  }
  freeaddrinfo(found);
  if (!verdict.ok()) return verdict;
  if (!https && !(policy.allow_http_loopback && all_loopback)) {
    return Refused(
        "the scheme must be https (http only to loopback, when "
        "the server allows it)");
  }
  return absl::OkStatus();
}

}  // namespace unified::webhooks
