// Sends one HTTP/2 request with header values no conforming client sends
// (newlines, a megabyte), to see what a server does with them: the
// connection preface, an empty SETTINGS frame, and the headers as HPACK
// literals (never indexed, no Huffman coding) in a HEADERS frame and as
// many CONTINUATION frames as they need. Reads the answer until the server
// closes or `wait` passes. Loopback tests only.
#ifndef TESTS_TESTING_RAW_HTTP2_H_
#define TESTS_TESTING_RAW_HTTP2_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace unified::testing {

// `address` is "host:port" (IPv4). `headers` go in order, pseudo-headers
// first as given.
absl::Status SendRawHttp2Request(
    const std::string& address,
    const std::vector<std::pair<std::string, std::string>>& headers,
    absl::Duration wait = absl::Seconds(2));

}  // namespace unified::testing

#endif  // TESTS_TESTING_RAW_HTTP2_H_
