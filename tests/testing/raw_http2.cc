#include "tests/testing/raw_http2.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace unified::testing {
namespace {

// An HPACK integer with a 7-bit prefix (RFC 7541 §5.1), first byte's high
// bit 0 (no Huffman coding for string lengths; zero for the literal's
// representation byte is written separately).
void AppendInt7(size_t value, std::string* out) {
  if (value < 127) {
    out->push_back(static_cast<char>(value));
    return;
  }
  out->push_back(static_cast<char>(127));
  value -= 127;
  while (value >= 128) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

std::string Frame(uint8_t type, uint8_t flags, uint32_t stream,
                  const std::string& payload) {
  std::string f;
  const size_t n = payload.size();
  f.push_back(static_cast<char>((n >> 16) & 0xff));
  f.push_back(static_cast<char>((n >> 8) & 0xff));
  f.push_back(static_cast<char>(n & 0xff));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  f.push_back(static_cast<char>((stream >> 24) & 0x7f));
  f.push_back(static_cast<char>((stream >> 16) & 0xff));
  f.push_back(static_cast<char>((stream >> 8) & 0xff));
  f.push_back(static_cast<char>(stream & 0xff));
  return f + payload;
}

}  // namespace

absl::Status SendRawHttp2Request(
    const std::string& address,
    const std::vector<std::pair<std::string, std::string>>& headers,
    absl::Duration wait) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError("address is not host:port");
  }
  sockaddr_in to = {};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &to.sin_addr) != 1) {
    return absl::InvalidArgumentError("not an IPv4 address");
  }
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket");
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    close(fd);
    return absl::UnavailableError("connect");
  }
  std::string block;
  for (const auto& [name, value] : headers) {
    block.push_back(0);  // Literal header field, never indexed: new name.
    AppendInt7(name.size(), &block);
    block += name;
    AppendInt7(value.size(), &block);
    block += value;
  }
  std::string out = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  out += Frame(0x4, 0, 0, "");  // SETTINGS, none changed.
  constexpr size_t kMaxFrame = 16384;
  for (size_t at = 0; at < block.size() || at == 0; at += kMaxFrame) {
    const std::string part = block.substr(at, kMaxFrame);
    const bool last = at + kMaxFrame >= block.size();
    const uint8_t type = at == 0 ? 0x1 : 0x9;  // HEADERS, CONTINUATION.
    uint8_t flags = last ? 0x4 : 0;            // END_HEADERS.
    if (at == 0) flags |= 0x1;                 // END_STREAM.
    out += Frame(type, flags, 1, part);
    if (block.empty()) break;
  }
  for (size_t sent = 0; sent < out.size();) {
    const ssize_t n =
        send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // The server may close before reading it all.
    sent += static_cast<size_t>(n);
  }
  timeval tv;
  tv.tv_sec = absl::ToInt64Seconds(wait);
  tv.tv_usec = 0;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buffer[4096];
  while (recv(fd, buffer, sizeof(buffer), 0) > 0) {
  }
  close(fd);
  return absl::OkStatus();
}

}  // namespace unified::testing
