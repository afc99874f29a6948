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
#include "tools/testing/sim_http_server.h"

namespace unified::podio_sim {

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
  sim->admin_user_id_ = admin.user_id;
  {
    absl::MutexLock lock(&sim->dir_mu_);
    sim->directory_ = std::move(directory);
  }
  for (const FaultRule& rule : options.faults) sim->faults_.Add(rule);

  sim->router_ = std::make_unique<Router>(sim.get());
  Simulator* self = sim.get();
  testing::SimHttpServerOptions http;
  http.host = options.host;
  http.port = options.port;
  http.threads = options.threads;
  http.tls_cert_file = options.tls_cert_file;
  http.tls_key_file = options.tls_key_file;
  absl::StatusOr<std::unique_ptr<testing::SimHttpServer>> server =
      testing::SimHttpServer::Start(
          http,
          [self](const httplib::Request& req, httplib::Response& res) {
            self->Handle(req, res);
          },
          [](const httplib::Request& req, httplib::Response& res) {
            internal::SendError(res, req,
                                ApiError{res.status, "bad_request",
                                         "Malformed request", std::nullopt});
          });
  if (!server.ok()) return server.status();
  sim->http_ = std::move(*server);
  sim->port_ = sim->http_->port();
  return sim;
}

Simulator::~Simulator() {
  http_.reset();  // Stops serving before what the handlers use goes.
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
