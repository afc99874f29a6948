// A SCIM 2.0 service provider simulator (RFC 7643 resources, RFC 7644
// protocol), for the SCIM connector's tests and benchmarks: seeded Users and
// Groups under <base>/scim/v2, bearer tokens, an OAuth client credentials
// token endpoint, a per-token rate limit answering 429 with Retry-After,
// and injectable faults. docs/scim.md lists what it serves and what it
// leaves out.
#ifndef TOOLS_SCIM_SIM_SCIM_SIM_H_
#define TOOLS_SCIM_SIM_SCIM_SIM_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace unified::testing {
class SimHttpServer;
}  // namespace unified::testing

namespace unified::scim_sim {

struct ScimSimOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: pick a free port.
  uint64_t seed = 1;
  int users = 30;  // At least 1.
  int groups = 4;  // At least 1.
  // Largest `count` answered (ServiceProviderConfig filter.maxResults);
  // more is cut to it, as RFC 7644 §3.4.2.4 allows.
  int max_results = 100;
  // Static bearer tokens; the first acts as the first user (for /Me).
  std::vector<std::string> tokens = {"scim-demo-token"};
  // The OAuth client of the client credentials grant at /oauth/token.
  std::string client_id = "scim-client";
  std::string client_secret = "scim-secret";
  absl::Duration token_lifetime = absl::Hours(1);
  // Requests per token per window; beyond, 429 with Retry-After.
  int64_t rate_limit = 1000;
  absl::Duration rate_window = absl::Hours(1);
  bool admin_api = true;  // Serve /_sim/ (faults, stats, token expiry).
  // Added to every API answer (benchmarks: a provider's latency).
  absl::Duration latency = absl::ZeroDuration();
  // Answers every listing from its first record whatever startIndex asked,
  // while echoing the startIndex asked (as a provider that ignores it and
  // copies the parameter back would).
  bool ignore_start_index = false;
  // Serve no /Me at all: 404 to any request for it, before the token is
  // looked at (as a provider without the route would).
  bool no_me_route = false;
  // Accept any filter it reads and answer as if there were none.
  bool ignore_filter = false;
  // Users carry no `groups` attribute (it is optional, RFC 7643 §4.1.2) and
  // a filter on `groups.value` answers 400, as SCIMMY's do: membership is
  // only in the groups' `members`.
  bool no_groups_attribute = false;
  // Serve RFC 9865 cursor pagination as well as startIndex (advertised in
  // ServiceProviderConfig `pagination`): a `cursor` names the last id of
  // the page before.
  bool cursor_paging = false;
};

struct SimUser {
  std::string id;
  std::string user_name;
  std::string given_name;
  std::string family_name;
  std::string title;
  std::string email;
  bool active = true;
  std::vector<std::string> roles;
  absl::Time created;
  absl::Time modified;
};

struct SimGroup {
  std::string id;
  std::string display_name;
  std::vector<std::string> members;  // User ids, in the order added.
  absl::Time created;
  absl::Time modified;
};

class ScimSimulator {
 public:
  // Generates the data and starts serving; UNAVAILABLE if it cannot listen.
  static absl::StatusOr<std::unique_ptr<ScimSimulator>> Start(
      ScimSimOptions options);
  ~ScimSimulator();

  int port() const { return port_; }
  // "http://HOST:PORT/scim/v2".
  std::string base_url() const;
  // "http://HOST:PORT/oauth/token".
  std::string token_url() const;

  // Copies of the directory as it stands, in id order.
  std::vector<SimUser> Users() const;
  std::vector<SimGroup> Groups() const;
  // API requests answered so far (token and admin requests excluded), and
  // those of them paged by a cursor.
  int64_t requests() const { return requests_.load(); }
  int64_t cursor_requests() const { return cursor_requests_.load(); }

  // What another administrator does meanwhile (tests of listings under
  // change): a user created with an id that sorts right after `after`'s
  // (so listings in id order see it before their position when `after` was
  // read), returning its id; a user deleted (and dropped from its groups);
  // a user added to, or removed from, a group. NOT_FOUND for unknown ids.
  absl::StatusOr<std::string> CreateUserAfter(const std::string& after);
  absl::Status DeleteUser(const std::string& id);
  absl::Status SetGroupMember(const std::string& group_id,
                              const std::string& user_id, bool member);

  // The `count` API requests after the next `skip` answer `status`.
  void InjectFault(int status, int count, int skip = 0);

 private:
  explicit ScimSimulator(ScimSimOptions options);
  void Generate();
  void Handle(const httplib::Request& req, httplib::Response& res);
  class Api;  // The API routes (scim_api.cc).
  // `path` is below the API's prefix.
  void HandleApi(const httplib::Request& req, httplib::Response& res,
                 const std::string& path);
  void HandleToken(const httplib::Request& req, httplib::Response& res);
  void HandleAdmin(const httplib::Request& req, httplib::Response& res);
  // Who a bearer token acts for: a user id, "" for a client, nullopt when
  // the token is unknown or expired.
  bool Authenticate(const std::string& token, std::string* user_id);
  // Counts a call of `token`; false with the seconds to wait when over.
  bool Charge(const std::string& token, int64_t* retry_after_seconds);

  const ScimSimOptions options_;
  mutable absl::Mutex mu_;
  std::map<std::string, SimUser> users_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, SimGroup> groups_ ABSL_GUARDED_BY(mu_);
  // Issued access tokens and when they expire.
  std::map<std::string, absl::Time> issued_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<absl::Time>> calls_ ABSL_GUARDED_BY(mu_);
  // Injected faults: the next `fault_count_` API requests answer
  // `fault_status_`.
  int fault_status_ ABSL_GUARDED_BY(mu_) = 0;
  int fault_count_ ABSL_GUARDED_BY(mu_) = 0;
  int fault_skip_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_token_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int64_t> requests_{0};
  std::atomic<int64_t> cursor_requests_{0};

  std::unique_ptr<testing::SimHttpServer> http_;
  int port_ = 0;
};

}  // namespace unified::scim_sim

#endif  // TOOLS_SCIM_SIM_SCIM_SIM_H_
