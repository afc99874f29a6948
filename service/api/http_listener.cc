#include "service/api/http_listener.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "service/api/http_route.h"
#include "service/api/http_tls.h"

namespace unified {
namespace {

// The query's arguments into `*out` (MHD_KeyValueIterator).
MHD_Result AddArgument(void* out, MHD_ValueKind, const char* key,
                       const char* value) {
  if (key != nullptr) {
    static_cast<std::map<std::string, std::string>*>(out)->emplace(
        key, value == nullptr ? "" : value);
  }
  return MHD_YES;
}

}  // namespace

// One connection: its socket and until when its next request must arrive.
struct HttpListener::Connection {
  int fd = -1;
  absl::Time deadline;
  bool busy = false;  // A whole request arrived; its answer is under way.
  bool shut = false;
};

// One request: its body as it arrives, then its answer.
struct HttpListener::Request {
  Connection* connection = nullptr;
  std::string body;
  bool too_large = false;
  bool started = false;
  bool done = false;
  HttpAnswer answer;
};

namespace {

MHD_Result Queue(MHD_Connection* connection, const HttpAnswer& answer) {
  MHD_Response* response = MHD_create_response_from_buffer(
      answer.body.size(), const_cast<char*>(answer.body.data()),
      MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, "Content-Type",
                          answer.content_type.c_str());
  if (answer.private_page) {
    MHD_add_response_header(response, "Cache-Control", "no-store");
    MHD_add_response_header(response, "Referrer-Policy", "no-referrer");
  }
  for (const auto& [name, value] : answer.headers) {
    // Refused (and left out) when a value holds a line break.
    MHD_add_response_header(response, name.c_str(), value.c_str());
  }
  const MHD_Result queued =
      MHD_queue_response(connection, answer.status, response);
  MHD_destroy_response(response);
  return queued;
}

}  // namespace

struct HttpListenerCallbacks {
  static void Notify(void* self, MHD_Connection* connection, void** socket,
                     MHD_ConnectionNotificationCode what);
  static void Completed(void* self, MHD_Connection* connection, void** request,
                        MHD_RequestTerminationCode);
  static MHD_Result Handle(void* self, MHD_Connection* connection,
                           const char* url, const char* method, const char*,
                           const char* upload_data, size_t* upload_data_size,
                           void** request);
};

void HttpListenerCallbacks::Notify(void* self, MHD_Connection* connection,
                                   void** socket,
                                   MHD_ConnectionNotificationCode what) {
  auto* listener = static_cast<HttpListener*>(self);
  absl::MutexLock lock(&listener->mu_);
  if (what == MHD_CONNECTION_NOTIFY_STARTED) {
    auto* c = new HttpListener::Connection;
    const MHD_ConnectionInfo* info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    c->fd = info != nullptr ? info->connect_fd : -1;
    c->deadline = absl::Now() + listener->options_.request_timeout;
    *socket = c;
    listener->connections_.insert(c);
  } else if (what == MHD_CONNECTION_NOTIFY_CLOSED) {
    auto* c = static_cast<HttpListener::Connection*>(*socket);
    if (c == nullptr) return;
    listener->connections_.erase(c);
    delete c;
    *socket = nullptr;
  }
}

void HttpListenerCallbacks::Completed(void* self, MHD_Connection*,
                                      void** request,
                                      MHD_RequestTerminationCode) {
  auto* listener = static_cast<HttpListener*>(self);
  auto* r = static_cast<HttpListener::Request*>(*request);
  *request = nullptr;
  if (r == nullptr) return;
  if (r->connection != nullptr) {
    absl::MutexLock lock(&listener->mu_);
    r->connection->busy = false;
    r->connection->deadline = absl::Now() + listener->options_.request_timeout;
  }
  delete r;
}

std::optional<HttpAnswer> HttpListener::OwnAnswer(
    absl::string_view path, absl::string_view verb) const {
  if (path == "/healthz" || path == "/readyz" ||
      (path == "/metrics" && options_.metrics)) {
    if (verb != "GET" && verb != "HEAD") {
      return PlainAnswer(405, "method not allowed\n");
    }
    if (path == "/metrics") {
      HttpAnswer a = PlainAnswer(200, options_.metrics());
      a.content_type = "text/plain; version=0.0.4; charset=utf-8";
      return a;
    }
    if (path == "/readyz" && options_.ready && !options_.ready()) {
      return PlainAnswer(503, "not ready\n");
    }
    return PlainAnswer(200, "ok\n");
  }
  if (options_.metrics_only) return PlainAnswer(404, "not found\n");
  return std::nullopt;
}

HttpRoute* HttpListener::RouteOf(absl::string_view path) const {
  for (const std::unique_ptr<HttpRoute>& route : routes_) {
    if (route->Matches(path)) return route.get();
  }
  return nullptr;
}

MHD_Result HttpListenerCallbacks::Handle(void* self, MHD_Connection* connection,
                                         const char* url, const char* method,
                                         const char*, const char* upload_data,
                                         size_t* upload_data_size,
                                         void** request) {
  using Connection = HttpListener::Connection;
  auto* listener = static_cast<HttpListener*>(self);
  auto* r = static_cast<HttpListener::Request*>(*request);
  if (r == nullptr) {  // The headers arrived.
    r = new HttpListener::Request;
    const MHD_ConnectionInfo* info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (info != nullptr) {
      r->connection = static_cast<Connection*>(info->socket_context);
    }
    *request = r;
    return MHD_YES;
  }
  if (*upload_data_size > 0) {  // A piece of the body.
    if (r->body.size() + *upload_data_size >
        listener->options_.max_body_bytes) {
      r->too_large = true;
    } else if (!r->too_large) {
      r->body.append(upload_data, *upload_data_size);
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (r->done) return Queue(connection, r->answer);  // Resumed.
  if (r->started) return MHD_YES;
  if (r->connection != nullptr) {
    absl::MutexLock lock(&listener->mu_);
    r->connection->busy = true;
  }
  const absl::string_view path(url);
  const absl::string_view verb(method);
  if (r->too_large) return Queue(connection, PlainAnswer(413, "too large\n"));
  if (std::optional<HttpAnswer> own = listener->OwnAnswer(path, verb)) {
    return Queue(connection, *own);
  }
  HttpRoute* route = listener->RouteOf(path);
  if (route == nullptr)
    return Queue(connection, PlainAnswer(404, "not found\n"));
  auto call = std::make_shared<HttpRouteRequest>();
  call->method = std::string(verb);
  call->path = std::string(path);
  MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &AddArgument,
                            &call->query);
  if (std::optional<HttpAnswer> refused = route->Screen(*call)) {
    return Queue(connection, *refused);
  }
  call->body = std::move(r->body);
  std::function<HttpAnswer()> work = [route, call] {
    return route->Serve(*call);
  };
  // Blocking work runs on the pool; the connection waits suspended.
  r->started = true;
  {
    absl::MutexLock lock(&listener->mu_);
    ++listener->in_flight_;
  }
  MHD_suspend_connection(connection);
  listener->pool_->Submit("http listener", WorkerPool::Lane::kInteractive,
                          [listener, connection, r, work = std::move(work)] {
                            r->answer = work();
                            r->done = true;
                            MHD_resume_connection(connection);
                            absl::MutexLock lock(&listener->mu_);
                            --listener->in_flight_;
                          });
  return MHD_YES;
}

void HttpListener::Reap() {
  absl::MutexLock lock(&mu_);
  while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                               absl::Milliseconds(250))) {
    const absl::Time now = absl::Now();
    for (Connection* c : connections_) {
      if (!c->busy && !c->shut && now >= c->deadline && c->fd >= 0) {
        // The event loop sees the connection end and closes it.
        shutdown(c->fd, SHUT_RDWR);
        c->shut = true;
      }
    }
  }
}

absl::StatusOr<ListenSocket> ListenSocket::Bind(const std::string& host,
                                                int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string service = absl::StrCat(port);
  if (port < 0 || port > 65535 ||
      getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP side listener: cannot resolve ", host, ":", port));
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> address(found, freeaddrinfo);
  const int fd = socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC,
                        address->ai_protocol);
  const int yes = 1;
  if (fd < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes)) != 0 ||
      bind(fd, address->ai_addr, address->ai_addrlen) != 0 ||
      listen(fd, SOMAXCONN) != 0) {
    if (fd >= 0) close(fd);
    return absl::UnavailableError(
        absl::StrCat("HTTP side listener cannot listen on ", host, ":", port));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  int bound_port = port;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) == 0) {
    bound_port = ntohs(bound.ss_family == AF_INET6
                           ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                           : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }
  return ListenSocket(fd, bound_port, address->ai_family == AF_INET6);
}

ListenSocket::ListenSocket(ListenSocket&& other) noexcept
    : fd_(other.Release()), port_(other.port_), ipv6_(other.ipv6_) {}

ListenSocket& ListenSocket::operator=(ListenSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    port_ = other.port_;
    ipv6_ = other.ipv6_;
    fd_ = other.Release();
  }
  return *this;
}

ListenSocket::~ListenSocket() {
  if (fd_ >= 0) close(fd_);
}

int ListenSocket::Release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

absl::StatusOr<std::unique_ptr<HttpListener>> HttpListener::Start(
    ListenSocket socket, std::vector<std::unique_ptr<HttpRoute>> routes,
    WorkerPool* pool, HttpListenerOptions options) {
  std::unique_ptr<HttpListener> listener(new HttpListener());
  listener->routes_ = std::move(routes);
  listener->pool_ = pool;
  listener->options_ = options;
  const int port = socket.port();
  unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME;
  if (socket.ipv6()) flags |= MHD_USE_IPv6;
  const unsigned int idle_seconds = static_cast<unsigned int>(
      std::max<int64_t>(1, absl::ToInt64Seconds(options.idle_timeout)));
  std::vector<MHD_OptionItem> tls;
  if (options.tls) {
    flags |= MHD_USE_TLS;
    tls.push_back(
        {MHD_OPTION_HTTPS_CERT_CALLBACK, 0, HttpTlsRetrieveCallback()});
  }
  tls.push_back({MHD_OPTION_END, 0, nullptr});
  // The daemon owns the socket from here, and closes it when it stops.
  const int fd = socket.Release();
  listener->daemon_ = MHD_start_daemon(
      flags, static_cast<uint16_t>(port), nullptr, nullptr,
      &HttpListenerCallbacks::Handle, listener.get(), MHD_OPTION_LISTEN_SOCKET,
      fd, MHD_OPTION_THREAD_POOL_SIZE,
      static_cast<unsigned int>(std::max(1, options.threads)),
      MHD_OPTION_CONNECTION_LIMIT,
      static_cast<unsigned int>(std::max(1, options.max_connections)),
      MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      static_cast<unsigned int>(std::max(0, options.max_connections_per_peer)),
      MHD_OPTION_CONNECTION_TIMEOUT, idle_seconds,
      // Request line and headers must fit in this.
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(32 * 1024),
      MHD_OPTION_NOTIFY_COMPLETED, &HttpListenerCallbacks::Completed,
      listener.get(), MHD_OPTION_NOTIFY_CONNECTION,
      &HttpListenerCallbacks::Notify, listener.get(), MHD_OPTION_ARRAY,
      tls.data(), MHD_OPTION_END);
  if (listener->daemon_ == nullptr) {
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("HTTP side listener cannot serve on port ", port));
  }
  listener->port_ = port;
  HttpListener* self = listener.get();
  listener->reaper_ = std::thread([self] { self->Reap(); });
  return listener;
}

HttpListener::~HttpListener() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    // Suspended requests must be resumed before the daemon stops.
    mu_.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &in_flight_));
  }
  if (reaper_.joinable()) reaper_.join();
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace unified
