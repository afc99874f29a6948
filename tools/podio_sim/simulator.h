// The Podio simulator: an HTTP(S) server that answers like api.podio.com for
// the user-directory routes, OAuth, hooks and rate limits (docs/podio.md), from
// seeded data, with a simulated clock, fault injection and a request log.
// tools/podio_sim/README.md lists every route and each choice made where
// the reference is UNCONFIRMED.
#ifndef TOOLS_PODIO_SIM_SIMULATOR_H_
#define TOOLS_PODIO_SIM_SIMULATOR_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tools/podio_sim/directory.h"
#include "tools/podio_sim/faults.h"
#include "tools/podio_sim/hooks.h"
#include "tools/podio_sim/oauth.h"
#include "tools/podio_sim/rate_limiter.h"
#include "tools/podio_sim/request_log.h"
#include "tools/podio_sim/sim_clock.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace unified::testing {
class SimHttpServer;
}  // namespace unified::testing

namespace unified::podio_sim {
namespace internal {
struct Call;
}  // namespace internal

// Where a space member v2 row carries the member's profile (docs/podio.md
// §3.5: the docs say `user`; several official clients read `profile`).
enum class SpaceMemberShape {
  kUser,               // {"user": profile}
  kProfile,            // {"profile": profile}
  kAccountAndProfile,  // {"user": account, "profile": profile}
};

struct SimulatorOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: pick a free port.
  // Serve HTTPS with this certificate chain and key (PEM) when both are set.
  std::string tls_cert_file;
  std::string tls_key_file;
  int threads = 128;  // Concurrent connections served (one per kept-alive).

  GeneratorOptions data;
  OAuthOptions oauth;
  RateLimitOptions rate;
  HookOptions hooks;
  absl::Time clock_start = absl::FromUnixSeconds(1767225600);  // 2026-01-01.
  // The clock also moves with real time (sim_clock.h).
  bool real_time_clock = false;

  // Credentials of the generated principals.
  std::string admin_password = "demo-password";
  std::string regular_password = "regular-password";
  // The regular principal's password grant needs a second factor: it
  // answers a `server_nonce` instead of tokens.
  bool regular_mfa = false;
  // When set, every other generated user logs in with this password too
  // (tests that link many accounts).
  std::string user_password;
  int64_t app_id = 1001;
  std::string app_token = "demo-app-token";

  // Routes counted against the smaller "rate limited" budget, named as in
  // the route table: "GET /contact/" etc.
  std::set<std::string> restricted_routes = {"GET /contact/",
                                             "GET /contact/org/{org_id}",
                                             "GET /contact/space/{space_id}/"};

  // Largest `limit` accepted by paged routes; larger is 400 invalid_value.
  int max_limit = 500;
  // When set, paged routes answer at most this many rows whatever `limit`
  // asked, without saying so (Podio's maximum is undocumented; several
  // sources say 100: docs/podio.md).
  int limit_cap = 0;
  // Serve the fields the docs show that recorded real answers lack
  // (docs/podio.md, "Counts"): member_count (and contact_count) on
  // organizations and spaces, created_on on organizations, archived on
  // GET /space/{id}. False, the default, serves the recorded shape.
  bool documented_fields = false;
  SpaceMemberShape space_member_shape = SpaceMemberShape::kUser;

  bool admin_api = false;  // Serve /_sim/... (clock, log, faults, ...).
  // GET /oauth/authorize shows a consent page (Allow / Deny) that a person
  // answers, as Podio's does, instead of redirecting at once with the
  // consent set by /_sim/consent. Allow consents as that user (the admin
  // principal unless /_sim/consent said another).
  bool consent_page = false;
  std::vector<FaultRule> faults;
};

class Simulator {
 public:
  // Generates the data and starts serving. UNAVAILABLE if it cannot listen,
  // INVALID_ARGUMENT for an unusable TLS certificate or key.
  static absl::StatusOr<std::unique_ptr<Simulator>> Start(
      SimulatorOptions options);
  ~Simulator();  // Stops serving.

  int port() const { return port_; }
  // "http://127.0.0.1:PORT" (or https).
  std::string base_url() const;

  SimClock& clock() { return clock_; }
  FaultInjector& faults() { return faults_; }
  RequestLog& request_log() { return log_; }
  HookRegistry& hooks() { return hooks_; }
  // From now on, the member rows of `user_id` (organization and space
  // member listings) carry neither the account nor the profile: a row no
  // client can read. 0 ends it.
  void SetUnreadableUser(int64_t user_id) { unreadable_user_ = user_id; }
  // The next `times` member listing answers (organization or space) that
  // would hold `user_id` leave its row out, as a provider answering from a
  // lagging replica might: a member missing from one read who never left.
  void HideFromNextListings(int64_t user_id, int times) {
    hidden_user_ = user_id;
    hidden_times_ = times;
  }
  // Calls `f` with the path of every directory read the simulator answers,
  // after its answer is made and before it is sent: what other people do
  // while a listing runs (tests of listings under change). `f` runs on a
  // server thread and may call the simulator's API. Null ends it.
  void SetAfterRead(std::function<void(const std::string& path)> f) {
    absl::MutexLock lock(&after_read_mu_);
    after_read_ = std::move(f);
  }
  const SimulatorOptions& options() const { return options_; }

  // Runs `f` on the directory under the reader lock.
  void ReadDirectory(const std::function<void(const Directory&)>& f) const;

 private:
  explicit Simulator(SimulatorOptions options);
  void Handle(const httplib::Request& req, httplib::Response& res);
  // Runs a directory read or write route under the directory lock, putting the
  // JSON answer into `body`.
  std::optional<ApiError> RunDirectoryRoute(int route, internal::Call& call,
                                            std::string* body);
  void HandleAdmin(const httplib::Request& req, httplib::Response& res);
  void HandleAuthorize(const httplib::Request& req, httplib::Response& res);
  void RedirectWithConsent(const std::string& client_id,
                           const std::string& redirect_uri,
                           const std::string& state, int64_t user,
                           httplib::Response& res);
  // The consent page's own answer (POST /oauth/authorize).
  void HandleConsentDecision(const httplib::Request& req,
                             httplib::Response& res);
  // The token request's fields: a form, or (for /oauth/token/v2) JSON.
  static std::optional<ApiError> TokenParams(
      const httplib::Request& req, bool json_body,
      std::map<std::string, std::string>* params);
  void HandleToken(const httplib::Request& req, httplib::Response& res,
                   const std::map<std::string, std::string>& params);
  // Hook management routes; `user` is the caller.
  std::optional<ApiError> HandleHooks(
      int route, const httplib::Request& req, httplib::Response& res,
      const std::map<std::string, std::string>& params, int64_t user);

  class Admin;     // The /_sim/ routes (admin_routes.cc).
  class Exchange;  // One API request (simulator_handlers.cc).
  class Router;
  const SimulatorOptions options_;
  SimClock clock_;
  FaultInjector faults_;
  RequestLog log_;
  std::unique_ptr<OAuthState> oauth_;  // Set in Start().
  RateLimiter rate_;
  HookRegistry hooks_;
  mutable absl::Mutex dir_mu_;
  Directory directory_ ABSL_GUARDED_BY(dir_mu_);
  // Consent given at /oauth/authorize: approve as this user, or deny (0).
  absl::Mutex consent_mu_;
  int64_t consent_user_ ABSL_GUARDED_BY(consent_mu_) = 0;
  int64_t admin_user_id_ = 0;  // Set in Start().

  std::unique_ptr<testing::SimHttpServer> http_;
  std::unique_ptr<Router> router_;
  int port_ = 0;
  std::atomic<int64_t> unreadable_user_{0};
  std::atomic<int64_t> hidden_user_{0};
  std::atomic<int> hidden_times_{0};
  // Whether `user_id`'s row is left out of this answer (counts it).
  bool TakeHidden(int64_t user_id) {
    if (user_id != hidden_user_.load()) return false;
    for (int n = hidden_times_.load(); n > 0;) {
      if (hidden_times_.compare_exchange_weak(n, n - 1)) return true;
    }
    return false;
  }
  absl::Mutex after_read_mu_;
  std::function<void(const std::string&)> after_read_
      ABSL_GUARDED_BY(after_read_mu_);
};

}  // namespace unified::podio_sim

#endif  // TOOLS_PODIO_SIM_SIMULATOR_H_
