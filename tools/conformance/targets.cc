#include "tools/conformance/targets.h"

#include <atomic>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/http_client.h"
#include "connectors/common/json.h"
#include "connectors/common/request_pipeline.h"
#include "connectors/common/status_macros.h"
#include "connectors/podio/podio_client.h"
#include "connectors/podio/podio_connector.h"
#include "connectors/scim/scim_connector.h"
#include "tools/podio_sim/faults.h"
#include "tools/podio_sim/sim_client.h"
#include "tools/podio_sim/simulator.h"
#include "tools/scim_sim/scim_sim.h"
#include "tools/testing/fixed_token.h"
#include "tools/testing/subprocess.h"

namespace unified::conformance {

const char* FaultName(Fault fault) {
  switch (fault) {
    case Fault::kServerError:
      return "5xx";
    case Fault::kReset:
      return "reset";
    case Fault::kRateLimit:
      return "rate limit";
    case Fault::kUnauthorized:
      return "401";
    case Fault::kTruncated:
      return "truncated body";
  }
  return "?";
}

std::unique_ptr<PageIterator<v1::User>> UserPages(DirectoryConnector& c,
                                                  CallContext& ctx,
                                                  const UserFilter& filter,
                                                  const PageRequest& start,
                                                  bool paged) {
  if (!paged) return c.IterateUsers(ctx, filter, start);
  return std::make_unique<PagedIterator<v1::User>>(
      [&c, &ctx, &filter](const PageRequest& p) {
        return c.ListUsers(ctx, filter, p);
      },
      start);
}

namespace {

using ::unified::testing::ReissuedToken;

// What the targets share: HTTP clients, the token, the call context.
class TargetBase : public Target {
 public:
  explicit TargetBase(const Harness& harness)
      : harness_(harness),
        http_(NewCurlHttpClient({})),
        async_(NewCurlMultiClient({})) {}

  CallContext Context() override {
    CallContext ctx;
    // Shorter than a rate limit's stop: that fault ends the call cleanly.
    ctx.deadline = harness_.clock->Now() + absl::Minutes(1);
    ctx.tokens = tokens_.get();
    ctx.budget = harness_.budget;
    ctx.budget_key = name();
    ctx.priority = Priority::kBulk;
    return ctx;
  }
  DirectoryConnector& connector() override { return *connector_; }
  int refreshes() const override { return tokens_->refreshes.load(); }

 protected:
  // One of `candidates`, a different place each call (a stride prime to
  // any size in use), so changes spread over the listing's order.
  template <typename T>
  const T& Spread(const std::vector<T>& candidates) {
    return candidates[(spread_++ * 7919) % candidates.size()];
  }
  size_t spread_ = 0;

  // Ends the connector and its clients before the server goes (a server
  // stopping first would wait for their kept-alive connections).
  void CloseClients() {
    connector_.reset();
    async_.reset();
    http_.reset();
  }

  RequestPipelineOptions PipelineOptions(const std::string& base) const {
    RequestPipelineOptions options;
    options.api_base = base;
    options.initial_backoff = absl::Milliseconds(1);
    options.retry_reserve = 100000;  // Every injected fault may be retried.
    return options;
  }

  const Harness harness_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<AsyncHttpClient> async_;
  std::unique_ptr<ReissuedToken> tokens_;
  std::unique_ptr<DirectoryConnector> connector_;
};

class PodioSimTarget final : public TargetBase {
 public:
  // `counts`: organizations and spaces carry member_count (recorded real
  // answers do not: docs/podio.md).
  // `limit_cap`: the simulator's paged routes answer at most this many
  // rows, silently (0: none).
  // `shape`: where space member rows carry the profile.
  PodioSimTarget(
      const Harness& harness, bool counts, int limit_cap = 0,
      podio_sim::SpaceMemberShape shape = podio_sim::SpaceMemberShape::kUser)
      : TargetBase(harness),
        counts_(counts),
        limit_cap_(limit_cap),
        shape_(shape) {}
  ~PodioSimTarget() override {
    CloseClients();
    client_.reset();
  }

  absl::Status Start() override {
    podio_sim::SimulatorOptions options;
    // Capped: organizations larger than the cap.
    options.data.users = harness_.users > 0 ? 2 * harness_.users
                         : limit_cap_ > 0   ? 450
                                            : 130;
    options.data.orgs = 2;
    options.data.spaces_per_org = 3;
    options.data.multi_org_share = 0.2;
    options.rate.limit = 10000000;
    options.rate.restricted_limit = 10000000;
    options.documented_fields = counts_;
    options.limit_cap = limit_cap_;
    options.space_member_shape = shape_;
    absl::StatusOr<std::unique_ptr<podio_sim::Simulator>> sim =
        podio_sim::Simulator::Start(options);
    if (!sim.ok()) return sim.status();
    sim_ = std::move(*sim);
    absl::StatusOr<std::string> token =
        podio_sim::PasswordGrantToken(*http_, sim_->base_url());
    if (!token.ok()) return token.status();
    tokens_ = std::make_unique<ReissuedToken>(*token);
    podio::PodioClientOptions client_options;
    static_cast<RequestPipelineOptions&>(client_options) =
        PipelineOptions(sim_->base_url());
    client_options.classifier = RateClassifier(podio::RateLimitedRoutes());
    client_ = std::make_unique<podio::PodioClient>(
        http_.get(), harness_.clock, client_options, async_.get());
    connector_ = podio::NewPodioConnector(client_.get());
    return absl::OkStatus();
  }

  std::string name() const override {
    if (limit_cap_ > 0) return "podio_sim_capped";
    if (shape_ != podio_sim::SpaceMemberShape::kUser) {
      return "podio_sim_profiles";
    }
    return counts_ ? "podio_sim" : "podio_sim_nocounts";
  }

  Truth truth() override {
    Truth truth;
    sim_->ReadDirectory([&](const podio_sim::Directory& dir) {
      const int64_t me = dir.user_by_mail.at("demo@example.com");
      truth.me = absl::StrCat(me);
      for (const auto& [org_id, org] : dir.orgs) {
        if (!org.members.contains(me)) continue;
        truth.organizations.insert(absl::StrCat(org_id));
        for (const auto& [user_id, membership] : org.members) {
          truth.organization_members[absl::StrCat(org_id)].insert(
              absl::StrCat(user_id));
          const podio_sim::SimUser* user = dir.FindUser(user_id);
          truth.names[absl::StrCat(user_id)] = user->name;
          truth.emails[absl::StrCat(user_id)] = {
              absl::AsciiStrToLower(user->mail)};
        }
        for (int64_t space_id : org.space_ids) {
          auto& members = truth.workspace_members[absl::StrCat(space_id)];
          for (const auto& [user_id, m] : dir.spaces.at(space_id).members) {
            if (!m.ended_on) members.insert(absl::StrCat(user_id));
          }
        }
      }
    });
    return truth;
  }

  int64_t Requests() override { return sim_->request_log().next_seq(); }

  bool CanInject(Fault) const override { return true; }

  absl::Status Inject(Fault fault, int64_t skip) override {
    podio_sim::FaultRule rule;
    rule.method = "GET";
    rule.path = "*";
    rule.skip = skip;
    rule.times = 1;
    switch (fault) {
      case Fault::kServerError:
        rule.kind = podio_sim::FaultKind::kStatus;
        rule.status = 503;
        break;
      case Fault::kReset:
        rule.kind = podio_sim::FaultKind::kReset;
        break;
      case Fault::kRateLimit:
        rule.kind = podio_sim::FaultKind::kRateLimit;
        rule.status = 420;
        break;
      case Fault::kUnauthorized:
        rule.kind = podio_sim::FaultKind::kUnauthorized;
        rule.status = 401;
        break;
      case Fault::kTruncated:
        rule.kind = podio_sim::FaultKind::kTruncate;
        break;
    }
    sim_->faults().Clear();
    sim_->faults().Add(rule);
    return absl::OkStatus();
  }
  void ClearFaults() override { sim_->faults().Clear(); }

  // Through the API, as the account's administrator: a user not yet there
  // joins the workspace (the organization's first one for `org`), which
  // makes them an organization member too.
  absl::StatusOr<std::string> AddMember(
      const std::string& org, const std::string& workspace_id) override {
    int64_t org_id = 0, space_id = 0;
    (void)absl::SimpleAtoi(org, &org_id);
    (void)absl::SimpleAtoi(workspace_id, &space_id);
    std::vector<int64_t> outside;
    sim_->ReadDirectory([&](const podio_sim::Directory& d) {
      const podio_sim::SimOrg* o = d.FindOrg(org_id);
      if (o == nullptr) return;
      if (space_id == 0) space_id = o->space_ids[0];
      for (int64_t id : d.users_by_name) {
        const bool there = workspace_id.empty() ? o->members.contains(id)
                                                : d.ActiveSpaceMembership(
                                                      space_id, id) != nullptr;
        if (!there) outside.push_back(id);
      }
    });
    if (outside.empty()) return absl::NotFoundError("nobody left to add");
    const int64_t user = Spread(outside);
    RETURN_IF_ERROR(
        Api("POST", absl::StrCat("/space/", space_id, "/member/"),
            absl::StrCat(R"({"role":"regular","users":[)", user, "]}")));
    return absl::StrCat(user);
  }

  absl::Status RemoveMember(const std::string& org,
                            const std::string& workspace_id,
                            const std::string& user_id) override {
    return Api("DELETE",
               workspace_id.empty()
                   ? absl::StrCat("/org/", org, "/member/", user_id)
                   : absl::StrCat("/space/", workspace_id, "/member/", user_id),
               "");
  }

 private:
  absl::Status Api(const std::string& method, const std::string& path,
                   const std::string& body) {
    absl::StatusOr<std::string> token = tokens_->AccessToken(absl::Now());
    if (!token.ok()) return token.status();
    HttpRequest request;
    request.method = method;
    request.url = sim_->base_url() + path;
    request.headers = {{"Authorization", "OAuth2 " + *token},
                       {"Content-Type", "application/json"}};
    request.body = body;
    absl::StatusOr<HttpResponse> r = http_->Send(request);
    if (!r.ok()) return r.status();
    if (r->status / 100 != 2) {
      return absl::InternalError(
          absl::StrCat(method, " ", path, ": ", r->status, " ", r->body));
    }
    return absl::OkStatus();
  }

  const bool counts_;
  const int limit_cap_;
  const podio_sim::SpaceMemberShape shape_;
  std::unique_ptr<podio_sim::Simulator> sim_;
  std::unique_ptr<podio::PodioClient> client_;
};

// The SCIM connector over a pipeline to `base`.
class ScimTargetBase : public TargetBase {
 public:
  using TargetBase::TargetBase;

 protected:
  void Connect(const std::string& base, const std::string& token) {
    tokens_ = std::make_unique<ReissuedToken>(token);
    RequestPipelineOptions options = PipelineOptions(base);
    options.accept = "application/scim+json";
    pipeline_ = std::make_unique<RequestPipeline>(
        http_.get(), harness_.clock, &protocol_, options, async_.get());
    connector_ = scim::NewScimConnector(pipeline_.get());
  }

  // Where another administrator's change lands: for the directory, the
  // user a new one is listed after; for a group, a user outside it.
  absl::StatusOr<std::string> AddedAt(const std::string& group) {
    const Truth now = truth();
    std::vector<std::string> candidates;
    for (const auto& [id, name] : now.names) {
      auto members = now.workspace_members.find(group);
      if (group.empty() || (members != now.workspace_members.end() &&
                            !members->second.count(id))) {
        candidates.push_back(id);
      }
    }
    if (candidates.empty()) return absl::NotFoundError("nobody to add");
    return Spread(candidates);
  }

  const scim::ScimProtocol protocol_;
  std::unique_ptr<RequestPipeline> pipeline_;
};

class ScimSimTarget final : public ScimTargetBase {
 public:
  using ScimTargetBase::ScimTargetBase;
  ~ScimSimTarget() override { CloseClients(); }

  absl::Status Start() override {
    scim_sim::ScimSimOptions options;
    options.users = harness_.users > 0 ? harness_.users : 90;
    options.groups = 5;
    options.max_results = 100;
    options.rate_limit = 10000000;
    absl::StatusOr<std::unique_ptr<scim_sim::ScimSimulator>> sim =
        scim_sim::ScimSimulator::Start(options);
    if (!sim.ok()) return sim.status();
    sim_ = std::move(*sim);
    Connect(sim_->base_url(), options.tokens[0]);
    return absl::OkStatus();
  }

  std::string name() const override { return "scim_sim"; }

  Truth truth() override {
    Truth truth;
    truth.organizations = {"directory"};
    const std::vector<scim_sim::SimUser> users = sim_->Users();
    truth.me = users.front().id;
    for (const scim_sim::SimUser& u : users) {
      truth.organization_members["directory"].insert(u.id);
      truth.names[u.id] = u.given_name + " " + u.family_name;
      truth.emails[u.id] = {absl::AsciiStrToLower(u.email)};
    }
    for (const scim_sim::SimGroup& g : sim_->Groups()) {
      truth.workspace_members[g.id] =
          std::set<std::string>(g.members.begin(), g.members.end());
    }
    return truth;
  }

  int64_t Requests() override { return sim_->requests(); }

  bool CanInject(Fault fault) const override {
    // It answers statuses; it cannot break a connection.
    return fault == Fault::kServerError || fault == Fault::kRateLimit ||
           fault == Fault::kUnauthorized;
  }
  absl::Status Inject(Fault fault, int64_t skip) override {
    const int status = fault == Fault::kServerError ? 503
                       : fault == Fault::kRateLimit ? 429
                                                    : 401;
    sim_->InjectFault(status, 1, static_cast<int>(skip));
    return absl::OkStatus();
  }
  void ClearFaults() override { sim_->InjectFault(500, 0, 0); }

  absl::StatusOr<std::string> AddMember(
      const std::string& org, const std::string& workspace_id) override {
    ASSIGN_OR_RETURN(const std::string at, AddedAt(workspace_id));
    if (workspace_id.empty()) return sim_->CreateUserAfter(at);
    RETURN_IF_ERROR(sim_->SetGroupMember(workspace_id, at, true));
    return at;
  }

  absl::Status RemoveMember(const std::string& org,
                            const std::string& workspace_id,
                            const std::string& user_id) override {
    if (workspace_id.empty()) return sim_->DeleteUser(user_id);
    return sim_->SetGroupMember(workspace_id, user_id, false);
  }

 private:
  std::unique_ptr<scim_sim::ScimSimulator> sim_;
};

class ScimmyTarget final : public ScimTargetBase {
 public:
  using ScimTargetBase::ScimTargetBase;

  absl::Status Start() override {
    absl::StatusOr<std::unique_ptr<testing::Subprocess>> node =
        testing::Subprocess::Start(
            "/usr/bin/node",
            {testing::RunfilePath("tools/conformance/scimmy/server.js"),
             absl::StrCat("--users=", harness_.users > 0 ? harness_.users : 75),
             "--groups=4", "--max_results=100"});
    if (!node.ok()) return node.status();
    node_ = std::move(*node);
    absl::StatusOr<std::string> port =
        node_->WaitForLine("listening ", absl::Seconds(30));
    if (!port.ok()) return port.status();
    root_ = absl::StrCat("http://127.0.0.1:", *port);
    Connect(root_ + "/scim/v2", "scimmy-token");
    return absl::OkStatus();
  }

  std::string name() const override { return "scimmy"; }

  Truth truth() override {
    Truth truth;
    truth.organizations = {"directory"};
    absl::StatusOr<json::Body> doc = Admin("GET", "/_admin/truth");
    if (!doc.ok()) return truth;
    for (const rapidjson::Value& u : doc->root()["users"].GetArray()) {
      const std::string id = u["id"].GetString();
      if (truth.me.empty()) truth.me = id;
      truth.organization_members["directory"].insert(id);
      truth.names[id] = u["displayName"].GetString();
      for (const rapidjson::Value& e : u["emails"].GetArray()) {
        truth.emails[id].push_back(
            absl::AsciiStrToLower(e["value"].GetString()));
      }
    }
    for (const rapidjson::Value& g : doc->root()["groups"].GetArray()) {
      auto& members = truth.workspace_members[g["id"].GetString()];
      for (const rapidjson::Value& m : g["members"].GetArray()) {
        members.insert(m["value"].GetString());
      }
    }
    return truth;
  }

  int64_t Requests() override {
    absl::StatusOr<json::Body> doc = Admin("GET", "/_admin/requests");
    return doc.ok() ? doc->root()["served"].GetInt64() : -1;
  }

  bool CanInject(Fault) const override { return true; }
  absl::Status Inject(Fault fault, int64_t skip) override {
    const char* kind = fault == Fault::kReset       ? "reset"
                       : fault == Fault::kTruncated ? "truncate"
                                                    : "status";
    const int status = fault == Fault::kServerError ? 503
                       : fault == Fault::kRateLimit ? 429
                                                    : 401;
    return Admin("POST", absl::StrCat("/_admin/fault?kind=", kind,
                                      "&status=", status, "&skip=", skip))
        .status();
  }
  void ClearFaults() override { (void)Admin("POST", "/_admin/clear"); }

  absl::StatusOr<std::string> AddMember(
      const std::string& org, const std::string& workspace_id) override {
    ASSIGN_OR_RETURN(const std::string at, AddedAt(workspace_id));
    if (workspace_id.empty()) {
      ASSIGN_OR_RETURN(json::Body added,
                       Admin("POST", "/_admin/users/create?after=" + at));
      return std::string(added.root()["id"].GetString());
    }
    RETURN_IF_ERROR(
        Admin("POST", absl::StrCat("/_admin/groups/member?group=", workspace_id,
                                   "&user=", at, "&member=1"))
            .status());
    return at;
  }

  absl::Status RemoveMember(const std::string& org,
                            const std::string& workspace_id,
                            const std::string& user_id) override {
    return Admin("POST", workspace_id.empty()
                             ? "/_admin/users/delete?id=" + user_id
                             : absl::StrCat(
                                   "/_admin/groups/member?group=", workspace_id,
                                   "&user=", user_id, "&member=0"))
        .status();
  }

 private:
  absl::StatusOr<json::Body> Admin(const std::string& method,
                                   const std::string& path) {
    HttpRequest request;
    request.method = method;
    request.url = root_ + path;
    request.timeout = absl::Seconds(10);
    absl::StatusOr<HttpResponse> response = http_->Send(request);
    if (!response.ok()) return response.status();
    if (response->status != 200) {
      return absl::InternalError(
          absl::StrCat("admin ", path, ": ", response->status));
    }
    return json::ParseOwned(std::move(response->body));
  }

  std::unique_ptr<testing::Subprocess> node_;
  std::string root_;
};

template <typename T, typename... Args>
absl::StatusOr<std::unique_ptr<Target>> Started(const Harness& harness,
                                                Args... args) {
  auto target = std::make_unique<T>(harness, args...);
  absl::Status started = target->Start();
  if (!started.ok()) return started;
  return std::unique_ptr<Target>(std::move(target));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Target>> StartPodioSim(const Harness& harness) {
  return Started<PodioSimTarget>(harness, true);
}
absl::StatusOr<std::unique_ptr<Target>> StartPodioSimWithoutCounts(
    const Harness& harness) {
  return Started<PodioSimTarget>(harness, false);
}
absl::StatusOr<std::unique_ptr<Target>> StartPodioSimCapped(
    const Harness& harness) {
  return Started<PodioSimTarget>(harness, false, 100);
}
absl::StatusOr<std::unique_ptr<Target>> StartPodioSimProfiles(
    const Harness& harness) {
  return Started<PodioSimTarget>(
      harness, true, 0, podio_sim::SpaceMemberShape::kAccountAndProfile);
}
absl::StatusOr<std::unique_ptr<Target>> StartScimSim(const Harness& harness) {
  return Started<ScimSimTarget>(harness);
}
absl::StatusOr<std::unique_ptr<Target>> StartScimmy(const Harness& harness) {
  return Started<ScimmyTarget>(harness);
}

}  // namespace unified::conformance
