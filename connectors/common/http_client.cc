#include "connectors/common/http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/call_once.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "connectors/common/curl_transfer.h"

namespace unified {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool FormDecode(absl::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out->push_back(' ');
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out->push_back(in[i]);
    }
  }
  return true;
}

std::string UrlEncode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string HttpResponse::Header(absl::string_view name) const {
  std::string value;
  for (const auto& [key, v] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) value = v;
  }
  return value;
}

namespace {

constexpr absl::string_view kTransportFailureUrl =
    "type.unified/transport_failure";

absl::Status WithFailure(absl::Status status, TransportFailure kind) {
  status.SetPayload(kTransportFailureUrl,
                    absl::Cord(std::string(1, static_cast<char>(kind))));
  return status;
}

TransportFailure FailureOfCode(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return TransportFailure::kConnect;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
      return TransportFailure::kTls;
    case CURLE_OPERATION_TIMEDOUT:
      return TransportFailure::kTimeout;
    default:
      return TransportFailure::kOther;
  }
}

}  // namespace

TransportFailure TransportFailureOf(const absl::Status& status) {
  auto kind = status.GetPayload(kTransportFailureUrl);
  if (!kind.has_value() || kind->size() != 1) return TransportFailure::kNone;
  const int value = static_cast<unsigned char>((*kind)[0]);
  if (value > static_cast<int>(TransportFailure::kOther)) {
    return TransportFailure::kNone;
  }
  return static_cast<TransportFailure>(value);
}

namespace curl_internal {

// CURLOPT_OPENSOCKETFUNCTION for an exchange with allow_peer: shows the
// address about to be connected to, and opens the socket only if accepted.
curl_socket_t OnOpenSocket(void* user, curlsocktype purpose,
                           curl_sockaddr* address) {
  auto* transfer = static_cast<Transfer*>(user);
  char text[INET6_ADDRSTRLEN] = {0};
  const void* raw = nullptr;
  if (address->family == AF_INET) {
    raw = &reinterpret_cast<const sockaddr_in*>(&address->addr)->sin_addr;
  } else if (address->family == AF_INET6) {
    raw = &reinterpret_cast<const sockaddr_in6*>(&address->addr)->sin6_addr;
  }
  if (purpose != CURLSOCKTYPE_IPCXN || raw == nullptr ||
      inet_ntop(address->family, raw, text, sizeof(text)) == nullptr ||
      !transfer->request->allow_peer(text)) {
    transfer->refused_peer = true;
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype, address->protocol);
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  return (*transfer->cancelled && (*transfer->cancelled)()) ? 1 : 0;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (transfer->request->on_body) {
    long code = 0;
    curl_easy_getinfo(transfer->curl, CURLINFO_RESPONSE_CODE, &code);
    transfer->response->status = static_cast<int>(code);
    if (!transfer->request->on_body(*transfer->response,
                                    absl::string_view(data, n))) {
      transfer->stopped_by_callback = true;
      return 0;
    }
    return n;
  }
  if (transfer->response->body.size() + n > transfer->max_bytes) {
    transfer->too_large = true;
    return 0;  // Aborts the transfer.
  }
  transfer->response->body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  absl::string_view line(data, n);
  if (absl::StartsWith(line, "HTTP/")) {
    transfer->response->headers.clear();  // A new response (e.g. after 100).
    return n;
  }
  if (absl::StripAsciiWhitespace(line).empty()) {
    // The end of the head. libcurl decodes any content coding it offered
    // (gzip, deflate, ...), so the body arrives decoded: its coding and
    // encoded length no longer describe it.
    if (!transfer->request->decode_content) return n;
    HttpHeaders& headers = transfer->response->headers;
    const bool coded =
        std::any_of(headers.begin(), headers.end(), [](const auto& h) {
          return h.first == "content-encoding" &&
                 !absl::EqualsIgnoreCase(h.second, "identity");
        });
    if (coded) {
      headers.erase(std::remove_if(headers.begin(), headers.end(),
                                   [](const auto& h) {
                                     return h.first == "content-encoding" ||
                                            h.first == "content-length";
                                   }),
                    headers.end());
    }
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return n;
  transfer->response->headers.emplace_back(
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon))),
      std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  return n;
}

bool ValidHeaderText(absl::string_view text) {
  return text.find_first_of("\r\n") == absl::string_view::npos &&
         text.find('\0') == absl::string_view::npos;
}

void GlobalInit() {
  static absl::once_flag once;
  absl::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Sets up `h` for `request`, its callbacks writing into `transfer` (and
// `*headers`, which must live as long as the transfer). INVALID_ARGUMENT
// for a request that must not be sent.
absl::Status Prepare(CURL* h, const CurlHttpClientOptions& options,
                     const HttpRequest& request, Transfer* transfer,
                     CurlList* headers) {
  if (!absl::StartsWith(request.url, "http://") &&
      !absl::StartsWith(request.url, "https://")) {
    return absl::InvalidArgumentError("URL must be http or https");
  }
  if (request.method != "GET" && request.method != "HEAD" &&
      (!ValidHeaderText(request.method) || request.method.empty())) {
    return absl::InvalidArgumentError("malformed method");
  }
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || !ValidHeaderText(name) || !ValidHeaderText(value) ||
        name.find(':') != std::string::npos) {
      return absl::InvalidArgumentError("malformed request header");
    }
    headers->reset(curl_slist_append(headers->release(),
                                     absl::StrCat(name, ": ", value).c_str()));
  }
  // Suppress curl's automatic "Expect: 100-continue" for large bodies.
  headers->reset(curl_slist_append(headers->release(), "Expect:"));
  transfer->request = &request;
  transfer->curl = h;
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, transfer);
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options.ca_file.empty()) {
    curl_easy_setopt(h, CURLOPT_CAINFO, options.ca_file.c_str());
  }
  curl_easy_setopt(h, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers->get());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, transfer);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, transfer);
  if (request.allow_peer) {
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, OnOpenSocket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, transfer);
  } else {
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, nullptr);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, nullptr);
  }
  if (request.decode_content) {
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, nullptr);
    curl_easy_setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L);
  }
  curl_easy_setopt(
      h, CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(absl::ToInt64Milliseconds(options.connect_timeout)));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT,
                   static_cast<long>(options.low_speed_bytes));
  curl_easy_setopt(
      h, CURLOPT_LOW_SPEED_TIME,
      static_cast<long>(absl::ToInt64Seconds(options.low_speed_time)));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                   request.timeout == absl::InfiniteDuration()
                       ? 0L
                       : static_cast<long>(std::max<int64_t>(
                             1, absl::ToInt64Milliseconds(request.timeout))));
  if (request.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  return absl::OkStatus();
}

// The outcome of a finished transfer on `h` (which is left holding no
// pointer to the transfer's buffers, ready for reuse).
absl::StatusOr<HttpResponse> Complete(CURL* h, CURLcode code,
                                      const Transfer& transfer,
                                      HttpResponse response,
                                      const CurlHttpClientOptions& options) {
  long status = 0;
  long connects = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, nullptr);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, nullptr);
  curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
  if (transfer.too_large) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "response body larger than ", options.max_response_bytes, " bytes"));
  }
  if (transfer.stopped_by_callback) {
    return absl::CancelledError("the body's reader stopped the transfer");
  }
  if (code == CURLE_ABORTED_BY_CALLBACK) {
    return absl::CancelledError("cancelled by the caller");
  }
  if (transfer.refused_peer && code != CURLE_OK) {
    return WithFailure(
        absl::UnavailableError("the peer's address is not allowed"),
        TransportFailure::kRefusedPeer);
  }
  if (code == CURLE_OPERATION_TIMEDOUT) {
    return WithFailure(absl::DeadlineExceededError(absl::StrCat(
                           "upstream timed out: ", curl_easy_strerror(code))),
                       TransportFailure::kTimeout);
  }
  if (code != CURLE_OK) {
    return WithFailure(
        absl::UnavailableError(absl::StrCat("upstream transport error: ",
                                            curl_easy_strerror(code))),
        FailureOfCode(code));
  }
  response.status = static_cast<int>(status);
  response.new_connections = connects;
  return response;
}

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(CurlHttpClientOptions options)
      : options_(std::move(options)) {
    GlobalInit();
  }

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    if (request.cancelled && request.cancelled()) {
      return absl::CancelledError("cancelled before sending");
    }
    CurlEasy curl = Acquire();
    if (!curl) return absl::InternalError("curl_easy_init failed");
    CURL* h = curl.get();
    HttpResponse response;
    Transfer transfer{&response, options_.max_response_bytes,
                      &request.cancelled};
    CurlList headers;
    if (absl::Status s = Prepare(h, options_, request, &transfer, &headers);
        !s.ok()) {
      Release(std::move(curl));
      return s;
    }
    const CURLcode code = curl_easy_perform(h);
    absl::StatusOr<HttpResponse> done =
        Complete(h, code, transfer, std::move(response), options_);
    Release(std::move(curl));
    return done;
  }

 private:
  CurlEasy Acquire() {
    {
      absl::MutexLock lock(&mu_);
      if (!idle_.empty()) {
        CurlEasy curl = std::move(idle_.back());
        idle_.pop_back();
        return curl;
      }
    }
    return CurlEasy(curl_easy_init());
  }

  void Release(CurlEasy curl) {
    absl::MutexLock lock(&mu_);
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(curl));
  }

  static constexpr size_t kMaxIdle = 64;
  const CurlHttpClientOptions options_;
  absl::Mutex mu_;
  std::vector<CurlEasy> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace curl_internal

absl::Status DecodeContent(HttpResponse& response, size_t max_bytes) {
  const std::string coding = absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(response.Header("content-encoding")));
  auto drop_coding_headers = [&response] {
    response.headers.erase(
        std::remove_if(response.headers.begin(), response.headers.end(),
                       [](const auto& h) {
                         return h.first == "content-encoding" ||
                                h.first == "content-length";
                       }),
        response.headers.end());
  };
  if (coding.empty() || coding == "identity") {
    if (!coding.empty()) drop_coding_headers();
    return absl::OkStatus();
  }
  if (coding != "gzip" && coding != "x-gzip") {
    return absl::UnimplementedError(
        absl::StrCat("unsupported content coding '", coding, "'"));
  }
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
    return absl::InternalError("zlib could not start");
  }
  std::string out;
  out.resize(
      std::min(max_bytes, std::max<size_t>(4096, response.body.size() * 10)));
  z.next_in = reinterpret_cast<Bytef*>(response.body.data());
  z.avail_in = static_cast<uInt>(response.body.size());
  int code = Z_OK;
  size_t produced = 0;
  while (code == Z_OK) {
    if (produced == out.size()) {
      if (out.size() >= max_bytes) {
        inflateEnd(&z);
        return absl::ResourceExhaustedError(absl::StrCat(
            "the decoded body would exceed ", max_bytes, " bytes"));
      }
      out.resize(std::min(max_bytes, out.size() * 2));
    }
    z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z.avail_out = static_cast<uInt>(out.size() - produced);
    code = inflate(&z, Z_NO_FLUSH);
    produced = out.size() - z.avail_out;
    if (code == Z_BUF_ERROR && z.avail_out > 0) break;  // Input ran out.
    if (code == Z_BUF_ERROR) code = Z_OK;  // Output full: grow and go on.
  }
  const bool whole = code == Z_STREAM_END && z.avail_in == 0;
  inflateEnd(&z);
  if (!whole) {
    return absl::DataLossError("the gzip body is corrupt or truncated");
  }
  out.resize(produced);
  response.body = std::move(out);
  drop_coding_headers();
  return absl::OkStatus();
}

std::unique_ptr<HttpClient> NewCurlHttpClient(CurlHttpClientOptions options) {
  return std::make_unique<curl_internal::CurlHttpClient>(std::move(options));
}

}  // namespace unified
