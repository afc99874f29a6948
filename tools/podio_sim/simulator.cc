#include "tools/podio_sim/simulator.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "httplib.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tools/podio_sim/router.h"
#include "tools/podio_sim/simulator_internal.h"

namespace unified::podio_sim {

using internal::Call;
using internal::Date;
using internal::Forbidden;
using internal::IdParam;
using internal::InvalidValue;
using internal::Json;
using internal::ObjectNotFound;
using internal::Params;
using internal::QueryBool;
using internal::QueryValue;
using internal::RouteId;
using internal::SpaceRoleToInt;

std::optional<ApiError> Simulator::RunDirectoryRoute(int route,
                                                     internal::Call& call,
                                                     std::string* body) {
  rapidjson::StringBuffer buffer;
  Json writer(buffer);
  const auto id = static_cast<RouteId>(route);
  std::optional<ApiError> error;
  if (internal::IsWriteRoute(id)) {
    absl::WriterMutexLock lock(&dir_mu_);
    error = router_->Write(id, call, directory_, writer);
  } else {
    {
      absl::ReaderMutexLock lock(&dir_mu_);
      error = router_->Read(id, call, directory_, writer);
    }
    std::function<void(const std::string&)> after;
    {
      absl::MutexLock lock(&after_read_mu_);
      after = after_read_;
    }
    if (after) after(call.req.path);
  }
  if (!error) body->assign(buffer.GetString(), buffer.GetSize());
  return error;
}

Simulator::Simulator(SimulatorOptions options)
    : options_(std::move(options)),
      clock_(options_.clock_start, options_.real_time_clock),
      rate_(options_.rate),
      hooks_(options_.hooks) {}

absl::StatusOr<std::unique_ptr<Simulator>> Simulator::Start(
    SimulatorOptions options) {
  std::unique_ptr<Simulator> sim(new Simulator(options));
  Directory directory = GenerateDirectory(options.data);
  const SimUser& admin = directory.users[kAdminUserIndex];
  const SimUser& regular = directory.users[kRegularUserIndex];
  const int64_t app_space = directory.orgs.begin()->second.space_ids[0];
  // The regular principal signs in with a second factor when asked.
  std::vector<PasswordLogin> logins = {
      {admin.mail, options.admin_password, admin.user_id},
      {regular.mail, options.regular_password, regular.user_id,
       options.regular_mfa}};
  if (!options.user_password.empty()) {
    for (const SimUser& u : directory.users) {
      if (u.user_id == admin.user_id || u.user_id == regular.user_id) continue;
      logins.push_back({u.mail, options.user_password, u.user_id});
    }
  }
  sim->oauth_ = std::make_unique<OAuthState>(
      options.oauth, std::move(logins),
      std::vector<AppLogin>{{options.app_id, options.app_token, app_space}});
  {
    absl::MutexLock lock(&sim->consent_mu_);
    sim->consent_user_ = admin.user_id;
  }
  {
    absl::MutexLock lock(&sim->dir_mu_);
    sim->directory_ = std::move(directory);
  }
  for (const FaultRule& rule : options.faults) sim->faults_.Add(rule);

  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    auto server = std::make_unique<httplib::SSLServer>(
        options.tls_cert_file.c_str(), options.tls_key_file.c_str());
    if (!server->is_valid()) {
      return absl::InvalidArgumentError(
          "cannot load the TLS certificate or key");
    }
    sim->server_ = std::move(server);
  } else {
    sim->server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& server = *sim->server_;
  const int threads = std::max(1, options.threads);
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
  sim->router_ = std::make_unique<Router>(sim.get());
  Simulator* self = sim.get();
  auto handler = [self](const httplib::Request& req, httplib::Response& res) {
    self->Handle(req, res);
  };
  // Requests that may carry a body read it here: one with neither
  // Content-Length nor Transfer-Encoding has an empty body (RFC 7230
  // §3.3.3), where httplib would wait for the connection to close.
  auto with_body = [self](const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& read) {
    httplib::Request copy = req;
    if (req.has_header("Content-Length") ||
        req.has_header("Transfer-Encoding")) {
      if (!read([&copy](const char* data, size_t n) {
            copy.body.append(data, n);
            return true;
          })) {
        internal::SendError(
            res, req,
            ApiError{400, "bad_request", "Malformed request", std::nullopt});
        return;
      }
    }
    self->Handle(copy, res);
  };
  server.Get(".*", handler);
  server.Post(".*", with_body);
  server.Put(".*", with_body);
  server.Patch(".*", with_body);
  server.Delete(".*", with_body);  // With a Content-Length.
  server.Delete(".*", handler);    // Without one.
  server.set_error_handler([](const httplib::Request& req,
                              httplib::Response& res) {
    if (!res.body.empty()) return;
    internal::SendError(
        res, req,
        ApiError{res.status, "bad_request", "Malformed request", std::nullopt});
  });
  if (options.port == 0) {
    sim->port_ = server.bind_to_any_port(options.host);
  } else {
    sim->port_ =
        server.bind_to_port(options.host, options.port) ? options.port : -1;
  }
  if (sim->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.host, ":", options.port));
  }
  sim->thread_ = std::thread([self] {
    self->server_->listen_after_bind();
    self->listen_returned_ = true;
  });
  // httplib's stop() does nothing until the accept loop runs: wait for it so
  // that destroying a just-started simulator cannot hang.
  while (!server.is_running() && !sim->listen_returned_) {
    std::this_thread::yield();
  }
  return sim;
}

Simulator::~Simulator() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string Simulator::base_url() const {
  const bool tls = !options_.tls_cert_file.empty();
  return absl::StrCat(
      tls ? "https://" : "http://",
      options_.host == "127.0.0.1" && tls ? "localhost" : options_.host, ":",
      port_);
}

void Simulator::ReadDirectory(
    const std::function<void(const Directory&)>& f) const {
  absl::ReaderMutexLock lock(&dir_mu_);
  f(directory_);
}

}  // namespace unified::podio_sim
