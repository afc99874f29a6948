#include "tools/testing/sim_http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace unified::testing {
namespace {

std::unique_ptr<httplib::Server> NewServer(const SimHttpServerOptions& o) {
  if (o.tls_cert_file.empty() && o.tls_key_file.empty()) {
    return std::make_unique<httplib::Server>();
  }
  auto server = std::make_unique<httplib::SSLServer>(o.tls_cert_file.c_str(),
                                                     o.tls_key_file.c_str());
  if (!server->is_valid()) return nullptr;
  return server;
}

void Configure(httplib::Server& server, int threads) {
  threads = std::max(1, threads);
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(threads);
  };
  // httplib's default also sets SO_REUSEPORT, which would let two servers
  // share a port; a busy port must be an error instead.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    // Answers go out at once (headers and body are written separately; with
    // Nagle they would wait for a delayed ACK). Accepted sockets inherit it.
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  });
  server.set_keep_alive_max_count(1000);
  server.set_keep_alive_timeout(60);
  server.set_payload_max_length(1 << 20);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SimHttpServer>> SimHttpServer::Start(
    const SimHttpServerOptions& options, Handler handle, Handler malformed) {
  std::unique_ptr<SimHttpServer> out(new SimHttpServer());
  out->server_ = NewServer(options);
  if (out->server_ == nullptr) {
    return absl::InvalidArgumentError("cannot load the TLS certificate or key");
  }
  httplib::Server& server = *out->server_;
  Configure(server, options.threads);
  // Requests that may carry a body read it here: one with neither
  // Content-Length nor Transfer-Encoding has an empty body (RFC 9112 §6.3),
  // where httplib would wait for the connection to close.
  auto with_body = [handle, malformed](const httplib::Request& req,
                                       httplib::Response& res,
                                       const httplib::ContentReader& read) {
    httplib::Request copy = req;
    if ((req.has_header("Content-Length") ||
         req.has_header("Transfer-Encoding")) &&
        !read([&copy](const char* data, size_t n) {
          copy.body.append(data, n);
          return true;
        })) {
      res.status = 400;
      if (malformed) malformed(req, res);
      return;
    }
    handle(copy, res);
  };
  server.Get(".*", handle);
  server.Post(".*", with_body);
  server.Put(".*", with_body);
  server.Patch(".*", with_body);
  server.Delete(".*", with_body);  // With a Content-Length.
  server.Delete(".*", handle);     // Without one.
  if (malformed) {
    server.set_error_handler(
        [malformed](const httplib::Request& req, httplib::Response& res) {
          if (res.body.empty()) malformed(req, res);
        });
  }
  out->port_ =
      options.port == 0
          ? server.bind_to_any_port(options.host)
          : (server.bind_to_port(options.host, options.port) ? options.port
                                                             : -1);
  if (out->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.host, ":", options.port));
  }
  SimHttpServer* self = out.get();
  out->thread_ = std::thread([self] {
    self->server_->listen_after_bind();
    self->listen_returned_ = true;
  });
  // httplib's stop() does nothing until the accept loop runs: wait for it so
  // that destroying a just-started server cannot hang.
  while (!server.is_running() && !out->listen_returned_) {
    std::this_thread::yield();
  }
  return out;
}

SimHttpServer::~SimHttpServer() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace unified::testing
