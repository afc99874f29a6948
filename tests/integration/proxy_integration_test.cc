// The proxy and the rate budget through the real server and simulator:
// answers pass through unchanged, escapes are refused before anything is
// sent, only idempotent calls are retried unless opted in, a 420 stops the
// identity for the wait Podio names, and the budget is never overspent.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "proto/unified/v1/proxy.grpc.pb.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "rapidjson/document.h"
#include "tests/integration/directory_env.h"
#include "tests/service/accounts/store_backends.h"
#include "tests/testing/rich_error.h"
#include "tests/testing/status_matchers.h"
#include "zlib.h"

namespace unified {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::unified::testing::DirectoryEnv;
using ::unified::testing::DirectoryEnvOptions;
using ::unified::testing::ErrorInfoOf;
using ::unified::testing::IsOk;
using ::unified::testing::RetryDelayOf;
using ::unified::testing::StatusIs;

DirectoryEnvOptions Small(std::vector<std::string> server_flags = {},
                          std::vector<std::string> sim_flags = {}) {
  DirectoryEnvOptions options;
  options.extra_sim_flags = std::move(sim_flags);
  options.data.users = 1200;
  options.data.orgs = 1;
  options.data.spaces_per_org = 2;
  options.extra_server_flags = std::move(server_flags);
  return options;
}

class ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(Small()); }
  void Start(const DirectoryEnvOptions& options) {
    env_ = std::make_unique<DirectoryEnv>(options);
    ASSERT_FALSE(env_->account("demo").empty());
    proxy_ = v1::Proxy::NewStub(env_->channel());
  }

  v1::ProxyRequest Request(const std::string& method, const std::string& path) {
    v1::ProxyRequest r;
    r.set_integrated_account_id(env_->account("demo"));
    r.set_method(method);
    r.set_path(path);
    return r;
  }

  grpc::Status Call(const v1::ProxyRequest& request,
                    v1::ProxyResponse* response,
                    absl::Duration deadline = absl::Seconds(30),
                    grpc::ClientContext* context = nullptr) {
    grpc::ClientContext local;
    if (context == nullptr) context = &local;
    context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    return proxy_->Call(context, request, response);
  }

  // The same request straight to the simulator with a token of the demo
  // principal.
  HttpResponse Direct(const std::string& method, const std::string& path) {
    auto http = NewCurlHttpClient({});
    HttpRequest grant;
    grant.method = "POST";
    grant.url = env_->sim_url() + "/oauth/token";
    grant.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    grant.body =
        "grant_type=password&client_id=demo-client&client_secret=demo-secret"
        "&username=demo%40example.com&password=demo-password";
    auto token = http->Send(grant);
    rapidjson::Document doc;
    doc.Parse(token->body.c_str());
    HttpRequest request;
    request.method = method;
    request.url = env_->sim_url() + path;
    request.headers = {
        {"Authorization",
         absl::StrCat("OAuth2 ", doc["access_token"].GetString())}};
    return *http->Send(request);
  }

  std::unique_ptr<DirectoryEnv> env_;
  std::unique_ptr<v1::Proxy::Stub> proxy_;
};

TEST_F(ProxyTest, AnswersPassThroughUnchangedWithTheBudget) {
  v1::ProxyResponse response;
  grpc::ClientContext context;
  ASSERT_THAT(
      Call(Request("GET", "/org/"), &response, absl::Seconds(30), &context),
      IsOk());
  EXPECT_EQ(response.status(), 200);
  EXPECT_EQ(response.body(), Direct("GET", "/org/").body);
  bool saw_limit_header = false;
  for (const auto& h : response.headers()) {
    if (h.name() == "x-rate-limit-limit") saw_limit_header = true;
    EXPECT_NE(h.name(), "authorization");
  }
  EXPECT_TRUE(saw_limit_header);
  EXPECT_EQ(response.budget().limit(), 1000);
  EXPECT_GT(response.budget().remaining(), 0);
  EXPECT_LT(response.budget().remaining(), 1000);
  auto trailer = context.GetServerTrailingMetadata();
  auto it = trailer.find("x-upstream-budget-remaining");
  ASSERT_NE(it, trailer.end());
  EXPECT_EQ(std::string(it->second.data(), it->second.size()),
            absl::StrCat(response.budget().remaining()));

  // Podio's errors are answers, byte for byte.
  const std::string missing =
      absl::StrCat("/org/", podio_sim::kFirstOrgId + 77);
  ASSERT_THAT(Call(Request("GET", missing), &response), IsOk());
  const HttpResponse direct = Direct("GET", missing);
  EXPECT_EQ(response.status(), direct.status);
  EXPECT_GE(response.status(), 400);
  EXPECT_EQ(response.body(), direct.body);

  // Query parameters are encoded by the service.
  v1::ProxyRequest members =
      Request("GET", absl::StrCat("/org/", podio_sim::kFirstOrgId, "/member/"));
  auto* q = members.add_query();
  q->set_name("limit");
  q->set_value("2");
  ASSERT_THAT(Call(members, &response), IsOk());
  rapidjson::Document doc;
  doc.Parse(response.body().c_str());
  ASSERT_TRUE(doc.IsArray());
  EXPECT_EQ(doc.Size(), 2u);

  // Another tenant cannot use the account.
  auto other = v1::Proxy::NewStub(env_->channel(DirectoryEnv::kTenantB));
  grpc::ClientContext c2;
  EXPECT_THAT(other->Call(&c2, Request("GET", "/org/"), &response),
              StatusIs(grpc::StatusCode::NOT_FOUND));
}

// A gzip member inflated; "" when it is not one.
std::string Gunzip(const std::string& in) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return "";
  std::string out;
  char buffer[16384];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int code = Z_OK;
  while (code == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof(buffer);
    code = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - z.avail_out);
  }
  inflateEnd(&z);
  return code == Z_STREAM_END ? out : "";
}

TEST_F(ProxyTest, ProxiedPathsOutsideTheTemplatesAreCountedAsProxyOnly) {
  // 300 distinct paths, one an e-mail address: none becomes a route label,
  // and the connector's own routes keep theirs (no label cap is reached).
  v1::ProxyResponse response;
  ASSERT_THAT(Call(Request("GET", "/user/profile/bob@example.com"), &response),
              IsOk());
  for (int i = 0; i < 300; ++i) {
    ASSERT_THAT(Call(Request("GET", absl::StrCat("/item/app/x", i, "/")),
                     &response),
                IsOk());
  }
  ASSERT_THAT(Call(Request("GET", "/org/"), &response), IsOk());
  const std::string metrics = env_->MetricsText();
  EXPECT_THAT(metrics, Not(HasSubstr("bob@example.com")));
  EXPECT_THAT(metrics, Not(HasSubstr("/item/app")));
  EXPECT_THAT(metrics, Not(HasSubstr("route=\"other\"")));
  EXPECT_THAT(env_->UnlistedRouteLines(), Not(::testing::IsEmpty()));
  EXPECT_THAT(metrics, HasSubstr("route=\"/org/\""));
}

TEST_F(ProxyTest, TheCallersAcceptEncodingPassesThrough) {
  const std::string path =
      absl::StrCat("/org/", podio_sim::kFirstOrgId, "/member/");
  const std::string identity = Direct("GET", path).body;
  ASSERT_FALSE(identity.empty());
  auto header = [](const v1::ProxyResponse& r, const std::string& name) {
    std::string value;
    for (const auto& h : r.headers()) {
      if (h.name() == name) value = h.value();
    }
    return value;
  };
  // Asked for gzip: Podio's coded body and its Content-Encoding, as sent.
  v1::ProxyRequest coded = Request("GET", path);
  auto* h = coded.add_headers();
  h->set_name("Accept-Encoding");
  h->set_value("gzip");
  v1::ProxyResponse response;
  ASSERT_THAT(Call(coded, &response), IsOk());
  EXPECT_EQ(header(response, "content-encoding"), "gzip");
  EXPECT_LT(response.body().size(), identity.size());
  EXPECT_EQ(Gunzip(response.body()), identity);
  // Asked for nothing: an identity body, without the coding's headers.
  ASSERT_THAT(Call(Request("GET", path), &response), IsOk());
  EXPECT_EQ(header(response, "content-encoding"), "");
  EXPECT_EQ(response.body(), identity);
}

TEST_F(ProxyTest, EscapesAreRefusedBeforeAnythingIsSent) {
  const int64_t position = env_->LogPosition();
  std::vector<v1::ProxyRequest> bad;
  for (const char* path :
       {"http://evil.example/org/", "https://api.podio.com/org/",
        "//evil.example/org/", "org/", "", "/org/../oauth/token",
        "/org/%2e%2e/user/status", "/org/%2E%2E/x", "/org%2f..%2fuser",
        "/org/..", "/./org/", "/org\\..\\x", "/org/?x=1", "/org/#x",
        "/org/\r\nHost: evil", "/org/ x", "/org/%00", "/org/%zz",
        "/org/\xc3\xa9"}) {
    bad.push_back(Request("GET", path));
  }
  for (const char* header :
       {"Authorization", "authorization", "Host", "Transfer-Encoding",
        "Content-Length", "User-Agent"}) {
    v1::ProxyRequest r = Request("GET", "/org/");
    auto* h = r.add_headers();
    h->set_name(header);
    h->set_value("x");
    bad.push_back(r);
  }
  // An empty value would remove a header the service sets.
  for (const char* header : {"Accept", "X-Anything"}) {
    v1::ProxyRequest r = Request("GET", "/org/");
    auto* h = r.add_headers();
    h->set_name(header);
    h->set_value(" ");
    bad.push_back(r);
  }
  {
    v1::ProxyRequest r = Request("GET", "/org/");
    auto* h = r.add_headers();
    h->set_name("X-Test");
    h->set_value("a\r\nAuthorization: OAuth2 stolen");
    bad.push_back(r);
    r = Request("GET", "/org/");
    h = r.add_headers();
    h->set_name("X Test:");
    h->set_value("a");
    bad.push_back(r);
    bad.push_back(Request("CONNECT", "/org/"));
    bad.push_back(Request("TRACE", "/org/"));
  }
  for (const v1::ProxyRequest& r : bad) {
    v1::ProxyResponse response;
    grpc::Status status = Call(r, &response);
    EXPECT_THAT(status, StatusIs(grpc::StatusCode::INVALID_ARGUMENT))
        << r.ShortDebugString();
    EXPECT_EQ(ErrorInfoOf(status).reason(), "PROXY_REQUEST_REFUSED")
        << r.ShortDebugString();
  }
  v1::ProxyRequest huge = Request("POST", "/org/");
  huge.set_body(std::string((1 << 20) + 1, 'x'));
  v1::ProxyResponse response;
  grpc::Status too_big = Call(huge, &response);
  EXPECT_THAT(too_big, StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_EQ(ErrorInfoOf(too_big).reason(), "PROXY_BODY_TOO_LARGE");
  // Not one request left the service.
  EXPECT_TRUE(env_->CallsSince(position).empty());
  EXPECT_TRUE(env_->CallsSince(position, true).empty());
}

TEST_F(ProxyTest, OnlyIdempotentCallsAreRetriedUnlessOptedIn) {
  env_->AddFault(
      R"({"method":"GET","path":"/user/status","kind":"status","status":503,
          "times":1})");
  int64_t position = env_->LogPosition();
  v1::ProxyResponse response;
  ASSERT_THAT(Call(Request("GET", "/user/status"), &response), IsOk());
  EXPECT_EQ(response.status(), 200);
  EXPECT_EQ(env_->CallsSince(position).size(), 2u);  // 503, then 200.

  const std::string hooks =
      absl::StrCat("/hook/space/", podio_sim::kFirstSpaceId, "/");
  v1::ProxyRequest create = Request("POST", hooks);
  create.set_body(R"({"url":"http://127.0.0.1:9/hook","type":"member.add"})");
  auto* content_type = create.add_headers();
  content_type->set_name("Content-Type");
  content_type->set_value("application/json");
  env_->AddFault(absl::StrCat(R"({"method":"POST","path":")", hooks,
                              R"(","kind":"status","status":503,"times":1})"));
  position = env_->LogPosition();
  ASSERT_THAT(Call(create, &response), IsOk());
  EXPECT_EQ(response.status(), 503);  // Podio's answer, not retried.
  EXPECT_EQ(env_->CallsSince(position).size(), 1u);

  env_->AddFault(absl::StrCat(R"({"method":"POST","path":")", hooks,
                              R"(","kind":"status","status":503,"times":1})"));
  create.set_retry_non_idempotent(true);
  position = env_->LogPosition();
  ASSERT_THAT(Call(create, &response), IsOk());
  EXPECT_EQ(response.status(), 200) << response.body();
  EXPECT_EQ(env_->CallsSince(position).size(), 2u);
}

TEST_F(ProxyTest, StreamCallSendsLargeBodiesInPieces) {
  v1::ProxyRequest r =
      Request("GET", absl::StrCat("/org/", podio_sim::kFirstOrgId, "/member/"));
  auto* q = r.add_query();
  q->set_name("limit");
  q->set_value("500");
  v1::ProxyResponse whole;
  ASSERT_THAT(Call(r, &whole), IsOk());
  ASSERT_GT(whole.body().size(), 64u << 10);
  grpc::ClientContext context;
  auto reader = proxy_->StreamCall(&context, r);
  v1::ProxyResponse message;
  std::string body;
  int messages = 0;
  while (reader->Read(&message)) {
    if (messages++ == 0) {
      EXPECT_EQ(message.status(), 200);
      EXPECT_GT(message.headers_size(), 0);
      EXPECT_GT(message.budget().limit(), 0);
    } else {
      EXPECT_EQ(message.status(), 0);
      EXPECT_LE(message.body().size(), 64u << 10);
    }
    body += message.body();
  }
  ASSERT_THAT(reader->Finish(), IsOk());
  EXPECT_GE(messages, 3);
  EXPECT_EQ(body, whole.body());
}

TEST_F(ProxyTest, A420StopsEveryCallOfTheIdentityForTheNamedWait) {
  // A 420 on a stream's first page, Podio saying "wait 3 seconds". (Nothing
  // is read ahead of a source's first answer; on a later page, pages read
  // ahead already in flight would race it.)
  env_->AddFault(absl::StrCat(
      R"({"path":"/org/)", podio_sim::kFirstOrgId,
      R"(/member/","kind":"rate_limit","wait_seconds":3,"times":1})"));
  auto directory = v1::UserDirectory::NewStub(env_->channel());
  grpc::ClientContext c1;
  c1.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  v1::ListUsersRequest users;
  users.set_integrated_account_id(env_->account("demo"));
  users.set_limit(500);
  auto reader = directory->StreamUsers(&c1, users);
  v1::ListUsersResponse page;
  while (reader->Read(&page)) {
  }
  grpc::Status stopped = reader->Finish();
  EXPECT_THAT(stopped, StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  // Every other call of the identity now fails at once, unsent, when its
  // deadline is shorter than the wait...
  const int64_t position = env_->LogPosition();
  v1::ProxyResponse response;
  grpc::Status blocked =
      Call(Request("GET", "/user/status"), &response, absl::Seconds(1));
  EXPECT_THAT(blocked, StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_EQ(ErrorInfoOf(blocked).reason(), "RATE_BUDGET_EXHAUSTED");
  EXPECT_GT(RetryDelayOf(blocked).value_or(absl::ZeroDuration()),
            absl::Seconds(1));
  EXPECT_LE(RetryDelayOf(blocked).value_or(absl::ZeroDuration()),
            absl::Seconds(3));
  grpc::ClientContext c2;
  v1::ListOrganizationsRequest orgs;
  orgs.set_integrated_account_id(env_->account("demo"));
  c2.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  v1::ListOrganizationsResponse org_page;
  EXPECT_THAT(directory->ListOrganizations(&c2, orgs, &org_page),
              StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_THAT(env_->CallsSince(position), ::testing::IsEmpty());
  // GetIntegratedAccount shows the stop.
  auto accounts = v1::IntegratedAccounts::NewStub(env_->channel());
  grpc::ClientContext c3;
  v1::GetIntegratedAccountRequest get;
  get.set_integrated_account_id(env_->account("demo"));
  v1::IntegratedAccount account;
  ASSERT_THAT(accounts->GetIntegratedAccount(&c3, get, &account), IsOk());
  EXPECT_GT(account.budget().blocked_until().seconds(),
            absl::ToUnixSeconds(absl::Now()) - 1);
  // ...and a caller who can wait is served once the wait has passed.
  ASSERT_THAT(
      Call(Request("GET", "/user/status"), &response, absl::Seconds(20)),
      IsOk());
  EXPECT_EQ(response.status(), 200);
  EXPECT_THAT(env_->CallsSince(position),
              ::testing::ElementsAre("GET /user/status"));
}

TEST_F(ProxyTest, TheBudgetIsNeverOverspent) {
  // Podio's headers say 8 per hour (they win over the server's 1,000); the
  // linking and the first call below are two of them.
  env_.reset();
  Start(Small({}, {"--rate_limit=8"}));
  const int64_t position = env_->LogPosition();
  {
    v1::ProxyResponse first;
    ASSERT_THAT(Call(Request("GET", "/user/status"), &first), IsOk());
    EXPECT_EQ(first.budget().limit(), 8);
  }
  auto directory = v1::UserDirectory::NewStub(env_->channel());
  int sent_ok = 0;
  grpc::Status refused;
  for (int i = 0; i < 10; ++i) {
    v1::ProxyResponse response;
    grpc::Status s =
        Call(Request("GET", "/user/status"), &response, absl::Seconds(2));
    if (s.ok()) {
      EXPECT_EQ(response.status(), 200);
      ++sent_ok;
    } else {
      refused = s;
    }
  }
  // GetMe reads Podio too: the same budget.
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  v1::GetMeRequest me;
  me.set_integrated_account_id(env_->account("demo"));
  v1::User user;
  EXPECT_THAT(directory->GetMe(&context, me, &user),
              StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  // The password grant made no API call; GET /user/status above was one.
  EXPECT_EQ(sent_ok, 7);
  EXPECT_EQ(ErrorInfoOf(refused).reason(), "RATE_BUDGET_EXHAUSTED");
  EXPECT_GT(RetryDelayOf(refused).value_or(absl::ZeroDuration()),
            absl::Minutes(59));
  const std::vector<std::string> sent = env_->CallsSince(position);
  EXPECT_EQ(sent.size(), 8u);  // 1 + 7: the whole budget, never a 420.
}

// Two replicas sharing PostgreSQL spend one budget: together they send
// exactly what Podio allows.
TEST(ReplicaBudgetTest, TwoServersOnPostgresShareOneBudget) {
  DirectoryEnvOptions options = Small({}, {"--rate_limit=8"});
  options.store = accounts::FreshStoreUrl("postgresql");
  ASSERT_FALSE(options.store.empty());
  DirectoryEnv env(options);
  ASSERT_FALSE(env.account("demo").empty());
  testing::ServerProcess replica = env.LaunchServer();
  ASSERT_FALSE(replica.address.empty());
  auto first = v1::Proxy::NewStub(env.channel());
  auto second = v1::Proxy::NewStub(
      env.ChannelTo(replica.address, DirectoryEnv::kTenantA));
  const int64_t position = env.LogPosition();
  int sent_ok = 0, refused = 0;
  for (int i = 0; i < 16; ++i) {
    v1::ProxyRequest request;
    request.set_integrated_account_id(env.account("demo"));
    request.set_method("GET");
    request.set_path("/user/status");
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    v1::ProxyResponse response;
    grpc::Status s =
        (i % 2 == 0 ? first : second)->Call(&context, request, &response);
    if (s.ok()) {
      EXPECT_EQ(response.status(), 200);  // Never a 420.
      ++sent_ok;
    } else {
      EXPECT_EQ(ErrorInfoOf(s).reason(), "RATE_BUDGET_EXHAUSTED");
      ++refused;
    }
  }
  EXPECT_EQ(sent_ok, 8);
  EXPECT_EQ(refused, 8);
  EXPECT_EQ(env.CallsSince(position).size(), 8u);
}

}  // namespace
}  // namespace unified
