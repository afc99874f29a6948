#include "service/api/proxy_service.h"

#include <memory>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"
#include "service/core/account_call.h"
#include "service/core/budget_report.h"
#include "service/core/grpc_status.h"

namespace unified {
namespace {

constexpr size_t kMaxPathBytes = 2048;
constexpr size_t kMaxHeaders = 50;
constexpr size_t kMaxHeaderBytes = 8192;

absl::Status Refused(const std::string& why) {
  return WithErrorInfo(
      absl::InvalidArgumentError(absl::StrCat("proxy request refused: ", why)),
      "PROXY_REQUEST_REFUSED");
}

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::StrContains("!#$%&'*+-.^_`|~", c);
}

// Headers the service owns, or that would change how the request is framed
// or routed.
bool ReservedHeader(absl::string_view name) {
  for (const char* reserved :
       {"authorization", "proxy-authorization", "host", "connection",
        "keep-alive", "transfer-encoding", "content-length", "te", "trailer",
        "upgrade", "expect", "proxy-connection", "x-forwarded-host",
        "user-agent"}) {
    if (absl::EqualsIgnoreCase(name, reserved)) return true;
  }
  return false;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(static_cast<unsigned char>(c));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

absl::Status CheckPath(const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return Refused("path must start with '/' (relative to the API base)");
  }
  if (path.size() > kMaxPathBytes) return Refused("path too long");
  if (absl::StartsWith(path, "//")) {
    return Refused("path must not start with '//' (another host)");
  }
  // Decode once; encoded separators, dots and NULs are refused outright.
  std::string decoded;
  for (size_t i = 0; i < path.size(); ++i) {
    const unsigned char c = path[i];
    if (c < 0x21 || c == 0x7f || c >= 0x80 || c == '\\' || c == '?' ||
        c == '#') {
      return Refused(
          "path holds a control, space, non-ASCII, '\\\\', '?' or '#' "
          "character (put parameters in `query`)");
    }
    if (c == '%') {
      const int hi = i + 2 < path.size() ? HexValue(path[i + 1]) : -1;
      const int lo = i + 2 < path.size() ? HexValue(path[i + 2]) : -1;
      if (hi < 0 || lo < 0) return Refused("malformed percent-encoding");
      const char d = static_cast<char>(hi * 16 + lo);
      if (d == '/' || d == '\\' || d == '.' || d == '\0' || d == '%' ||
          static_cast<unsigned char>(d) < 0x20) {
        return Refused("encoded '/', '\\\\', '.', '%' or control character");
      }
      decoded.push_back(d);
      i += 2;
    } else {
      decoded.push_back(static_cast<char>(c));
    }
  }
  for (absl::string_view segment : absl::StrSplit(decoded, '/')) {
    if (segment == "." || segment == "..") {
      return Refused("'.' and '..' segments are not allowed");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<HttpRequest> CheckProxyRequest(const v1::ProxyRequest& request) {
  HttpRequest out;
  const std::string method = absl::AsciiStrToUpper(request.method());
  if (method != "GET" && method != "HEAD" && method != "POST" &&
      method != "PUT" && method != "PATCH" && method != "DELETE") {
    return Refused("method must be GET, HEAD, POST, PUT, PATCH or DELETE");
  }
  out.method = method;
  RETURN_IF_ERROR(CheckPath(request.path()));
  out.url = request.path();
  std::string query;
  for (const v1::QueryParameter& p : request.query()) {
    if (p.name().empty()) return Refused("a query parameter has no name");
    absl::StrAppend(&query, query.empty() ? "?" : "&", UrlEncode(p.name()), "=",
                    UrlEncode(p.value()));
  }
  if (query.size() > kMaxPathBytes * 4) return Refused("query too long");
  out.url += query;
  if (request.headers_size() > static_cast<int>(kMaxHeaders)) {
    return Refused("too many headers");
  }
  for (const v1::Header& h : request.headers()) {
    if (h.name().empty() ||
        !std::all_of(h.name().begin(), h.name().end(), IsTokenChar)) {
      return Refused("a header name is not an HTTP token");
    }
    if (h.value().size() > kMaxHeaderBytes ||
        h.value().find_first_of(std::string("\r\n\0", 3)) !=
            std::string::npos) {
      return Refused("a header value holds CR, LF or NUL, or is too long");
    }
    if (ReservedHeader(h.name())) {
      return Refused(absl::StrCat("header '", h.name(),
                                  "' is set by the service, not the caller"));
    }
    // An empty value would make libcurl drop the header (and so remove one
    // the service sets, such as Accept).
    if (absl::StripAsciiWhitespace(h.value()).empty()) {
      return Refused(
          absl::StrCat("header '", h.name(), "' has an empty value"));
    }
    // The caller's own Accept-Encoding goes out unchanged and the body
    // comes back as the provider coded it; without one, the service asks
    // for what it can decode and answers with an identity body.
    if (absl::EqualsIgnoreCase(h.name(), "accept-encoding")) {
      out.decode_content = false;
    }
    out.headers.emplace_back(h.name(), h.value());
  }
  if (request.body().size() > kProxyMaxRequestBody) {
    return WithErrorInfo(
        absl::ResourceExhaustedError(absl::StrCat(
            "proxy request body over ", kProxyMaxRequestBody, " bytes")),
        "PROXY_BODY_TOO_LARGE");
  }
  out.body = request.body();
  return out;
}

struct ProxyService::Prepared {
  ResolvedAccount account;
  DirectoryConnector* connector = nullptr;
  CallContext ctx;
  HttpRequest request;
  bool retry = false;
  std::optional<BudgetReporter> report;
};

absl::StatusOr<ProxyService::Prepared> ProxyService::Prepare(
    const std::string& tenant, const v1::ProxyRequest& request,
    absl::Time deadline, std::function<bool()> cancelled,
    grpc::ServerContextBase* trailers,
    std::shared_ptr<std::atomic<int>> upstream_calls) {
  RETURN_IF_ERROR(CheckAccountId(request.integrated_account_id()));
  Prepared p;
  ASSIGN_OR_RETURN(p.request, CheckProxyRequest(request));
  ASSIGN_OR_RETURN(
      AccountCall opened,
      OpenAccountCall(*accounts_, *connectors_, budget_, tenant,
                      request.integrated_account_id(),
                      {deadline, std::move(cancelled), Priority::kInteractive,
                       std::move(upstream_calls)}));
  p.account = std::move(opened.account);
  p.connector = opened.connector;
  p.ctx = std::move(opened.ctx);
  p.retry = p.request.method == "GET" || p.request.method == "HEAD" ||
            request.retry_non_idempotent();
  p.report.emplace(trailers, budget_, p.account.budget_key);
  return p;
}

namespace {

// The budget after the call, read once for the response and the trailer.
void FillBudget(std::optional<BudgetReporter>& report,
                v1::ProxyResponse* response) {
  if (const std::optional<BudgetState>& state = report->Snapshot()) {
    *response->mutable_budget() = ToProto(*state);
  }
}

void CopyHead(const HttpResponse& answer, v1::ProxyResponse* response) {
  response->set_status(answer.status);
  for (const auto& [name, value] : answer.headers) {
    v1::Header* h = response->add_headers();
    h->set_name(name);
    h->set_value(value);
  }
}

// Pieces of a StreamCall answer that may wait for the client (1 MiB).
constexpr int kProxyQueuedPieces = 16;

}  // namespace

grpc::ServerUnaryReactor* ProxyService::Call(
    grpc::CallbackServerContext* context, const v1::ProxyRequest* request,
    v1::ProxyResponse* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        ASSIGN_OR_RETURN(
            Prepared p,
            Prepare(
                tenant, *request, absl::FromChrono(context->deadline()),
                [context] { return context->IsCancelled(); }, context,
                serving_->UpstreamCounter(context)));
        // Collect the body ourselves to stop at the cap without
        // downloading the rest.
        std::string body;
        const void* attempt = nullptr;
        bool too_large = false;
        p.request.on_body = [&](const HttpResponse& head,
                                absl::string_view piece) {
          if (&head != attempt) {  // A new attempt (retry or replay).
            attempt = &head;
            body.clear();
          }
          if (body.size() + piece.size() > kProxyMaxResponseBody) {
            too_large = true;
            return false;
          }
          body.append(piece.data(), piece.size());
          return true;
        };
        absl::StatusOr<HttpResponse> answer =
            p.connector->Proxy(p.ctx, p.request, p.retry);
        if (too_large) {
          return WithErrorInfo(
              absl::ResourceExhaustedError(absl::StrCat(
                  "the provider's answer is over ", kProxyMaxResponseBody,
                  " bytes; use StreamCall")),
              "PROXY_RESPONSE_TOO_LARGE");
        }
        RETURN_IF_ERROR(answer.status());
        CopyHead(*answer, response);
        response->set_body(std::move(body));
        FillBudget(p.report, response);
        return absl::OkStatus();
      });
}

namespace {

// A StreamCall: one step on the pool relays the provider's answer, sending
// its pieces as they arrive (PooledStream::Emit), at most
// kProxyQueuedPieces of them waiting for the client.
class ProxyStream final : public PooledStream<v1::ProxyResponse> {
 public:
  using Prepare = std::function<absl::StatusOr<ProxyService::Prepared>(
      const std::string& tenant, absl::Time deadline,
      std::function<bool()> cancelled)>;

  ProxyStream(Serving* serving, grpc::CallbackServerContext* context,
              Admission admission, Prepare prepare)
      : PooledStream(serving, context, std::move(admission),
                     WorkerPool::Lane::kInteractive),
        context_(context),
        prepare_(std::move(prepare)) {}

 private:
  absl::StatusOr<Step> Produce(std::vector<v1::ProxyResponse>* out) override {
    ASSIGN_OR_RETURN(
        ProxyService::Prepared p,
        prepare_(tenant(), deadline(), [this] { return cancelled(); }));
    // Answers that may still be retried or replayed (401, 5xx) are held
    // (bounded); any other answer streams as it arrives.
    std::string held;
    const void* attempt = nullptr;
    bool streaming = false;
    bool gone = false;
    std::string pending;
    auto flush = [&](bool all) {
      while (pending.size() >= kProxyStreamPiece || (all && !pending.empty())) {
        const size_t n = std::min(pending.size(), kProxyStreamPiece);
        v1::ProxyResponse piece;
        piece.set_body(pending.substr(0, n));
        pending.erase(0, n);
        if (!Emit(std::move(piece), kProxyQueuedPieces)) {
          gone = true;
          return false;
        }
      }
      return true;
    };
    p.request.on_body = [&](const HttpResponse& head, absl::string_view piece) {
      if (&head != attempt) {
        attempt = &head;
        held.clear();
      }
      if (!streaming && (head.status == 401 || head.status >= 500)) {
        if (held.size() + piece.size() > kProxyMaxResponseBody) return false;
        held.append(piece.data(), piece.size());
        return true;
      }
      if (!streaming) {
        streaming = true;
        v1::ProxyResponse first;
        CopyHead(head, &first);
        FillBudget(p.report, &first);
        if (!Emit(std::move(first), kProxyQueuedPieces)) {
          gone = true;
          return false;
        }
      }
      pending.append(piece.data(), piece.size());
      return flush(false);
    };
    absl::StatusOr<HttpResponse> answer =
        p.connector->Proxy(p.ctx, p.request, p.retry);
    if (gone) return absl::CancelledError("the client went away");
    RETURN_IF_ERROR(answer.status());
    if (!streaming) {
      // Nothing streamed: an empty body, or a held error answer.
      v1::ProxyResponse first;
      CopyHead(*answer, &first);
      FillBudget(p.report, &first);
      if (!Emit(std::move(first), kProxyQueuedPieces)) {
        return absl::CancelledError("the client went away");
      }
      pending = std::move(held);
    }
    flush(true);
    if (p.report) report_.emplace(std::move(*p.report));
    return Step::kDone;
  }

  absl::Status StallStatus(absl::Duration stalled,
                           const v1::ProxyResponse&) override {
    return WithErrorInfo(
        absl::AbortedError(absl::StrCat("the client accepted no message for ",
                                        absl::FormatDuration(stalled),
                                        "; the relayed answer was abandoned")),
        kStreamStalledReason);
  }

  void BeforeFinish() override {
    if (report_) report_->AddTrailers(context_);
  }

  grpc::CallbackServerContext* const context_;
  const Prepare prepare_;
  std::optional<BudgetReporter> report_;
};

}  // namespace

grpc::ServerWriteReactor<v1::ProxyResponse>* ProxyService::StreamCall(
    grpc::CallbackServerContext* context, const v1::ProxyRequest* request) {
  absl::StatusOr<Admission> admitted =
      serving_->Admit(*context, Serving::Kind::kStream);
  if (!admitted.ok()) {
    return new FinishedStream<v1::ProxyResponse>(
        ToGrpcStatus(admitted.status()));
  }
  auto* stream = new ProxyStream(
      serving_, context, std::move(*admitted),
      [this, request = *request,
       upstream_calls = serving_->UpstreamCounter(context)](
          const std::string& tenant, absl::Time deadline,
          std::function<bool()> cancelled) {
        return Prepare(tenant, request, deadline, std::move(cancelled), nullptr,
                       upstream_calls);
      });
  stream->Start();
  return stream;
}

}  // namespace unified
