// What an operator sees: /metrics read by Prometheus' own Python parser
// (k injected Podio 420s raise the 420 counter by exactly k), request ids
// echoed to callers, one JSON access-log line per RPC with no secret in any
// log, and readiness that follows the store (PostgreSQL stopped and
// restarted under a running server).
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "connectors/common/http_client.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "rapidjson/document.h"
#include "tests/integration/directory_env.h"
#include "tests/service/accounts/store_backends.h"
#include "tests/testing/raw_http2.h"
#include "tests/testing/rich_error.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/wait_until.h"
#include "tools/podio_sim/directory.h"

namespace unified {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::unified::testing::DirectoryEnv;
using ::unified::testing::DirectoryEnvOptions;
using ::unified::testing::IsOk;
using ::unified::testing::ReadFile;
using ::unified::testing::RunfilePath;
using ::unified::testing::StatusIs;
using ::unified::testing::Subprocess;

class ObservabilityTest : public ::testing::Test {
 protected:
  void Start(DirectoryEnvOptions options = {}) {
    options.data.users = 30;
    env_ = std::make_unique<DirectoryEnv>(options);
    http_ = NewCurlHttpClient({});
  }

  std::string Get(const std::string& path, int* status = nullptr) {
    HttpRequest request;
    request.url = absl::StrCat("http://", env_->server().http_address, path);
    absl::StatusOr<HttpResponse> r = http_->Send(request);
    EXPECT_THAT(r, IsOk());
    if (status != nullptr) *status = r.ok() ? r->status : 0;
    return r.ok() ? r->body : "";
  }

  double Metric(const std::string& name,
                const std::vector<std::string>& labels = {}) {
    return env_->Metric(name, labels);
  }

  grpc::Status GetMe(grpc::ClientContext* context, const std::string& account) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    v1::GetMeRequest request;
    request.set_integrated_account_id(account);
    v1::User me;
    return v1::UserDirectory::NewStub(env_->channel())
        ->GetMe(context, request, &me);
  }

  // The access-log lines (JSON objects with msg "rpc") written so far.
  std::vector<rapidjson::Document> AccessLog() {
    std::vector<rapidjson::Document> lines;
    for (absl::string_view line :
         absl::StrSplit(ReadFile(env_->log_path()), '\n')) {
      rapidjson::Document doc;
      doc.Parse(line.data(), line.size());
      if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("msg") &&
          std::string(doc["msg"].GetString()) == "rpc") {
        lines.push_back(std::move(doc));
      }
    }
    return lines;
  }

  std::unique_ptr<DirectoryEnv> env_;
  std::unique_ptr<HttpClient> http_;
};

TEST_F(ObservabilityTest, KInjected420sRaiseThe420CounterByExactlyK) {
  Start();
  const std::string demo = env_->account("demo");
  const double before_420 =
      Metric("unified_upstream_rate_limited_total", {"provider=podio"});
  const double before_rpcs =
      Metric("unified_rpcs_total", {"service=unified.v1.UserDirectory",
                                    "method=GetMe", "code=RESOURCE_EXHAUSTED"});
  constexpr int kInjected = 3;
  // Podio answers 420 "wait 1 second" three times; each GetMe meets one (the
  // budget holds the next call back for that second, within its deadline).
  env_->AddFault(absl::StrCat(
      R"({"method":"GET","path":"/user/status","kind":"rate_limit",)",
      R"("wait_seconds":1,"times":)", kInjected, "}"));
  for (int i = 0; i < kInjected; ++i) {
    grpc::ClientContext context;
    EXPECT_THAT(GetMe(&context, demo),
                StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  }
  {
    grpc::ClientContext context;
    EXPECT_THAT(GetMe(&context, demo), IsOk());
  }
  EXPECT_EQ(Metric("unified_upstream_rate_limited_total", {"provider=podio"}),
            before_420 + kInjected);
  EXPECT_EQ(
      Metric("unified_rpcs_total", {"service=unified.v1.UserDirectory",
                                    "method=GetMe", "code=RESOURCE_EXHAUSTED"}),
      before_rpcs + kInjected);
  // Upstream requests are labelled by route template, never by id.
  EXPECT_GT(
      Metric("unified_upstream_requests_total",
             {"provider=podio", "route=/user/status", "status_class=4xx"}),
      0);
  const std::string text = Get("/metrics");
  EXPECT_THAT(text, Not(HasSubstr(demo)));
  EXPECT_THAT(text, HasSubstr("unified_build_info{"));
  EXPECT_EQ(Metric("unified_ready"), 1);
}

// A member row no client can read (the simulator's --unreadable_user) is
// left out of the listing and counted: in the responses' unreadable_records
// and in unified_unreadable_records_total, by the same number.
TEST_F(ObservabilityTest, UnreadableRowsAreCountedInTheResponseAndTheMetric) {
  DirectoryEnvOptions options;
  options.extra_sim_flags = {
      absl::StrCat("--unreadable_user=", podio_sim::kFirstUserId + 5)};
  Start(options);
  const double before = Metric("unified_unreadable_records_total");
  v1::ListUsersRequest request;
  request.set_integrated_account_id(env_->account("demo"));
  request.set_limit(7);
  int64_t reported = 0;
  do {
    grpc::ClientContext context;
    v1::ListUsersResponse page;
    ASSERT_TRUE(v1::UserDirectory::NewStub(env_->channel())
                    ->ListUsers(&context, request, &page)
                    .ok());
    reported += page.unreadable_records();
    request.set_cursor(page.next_cursor());
  } while (!request.cursor().empty());
  EXPECT_GT(reported, 0);
  EXPECT_EQ(Metric("unified_unreadable_records_total"), before + reported);
}

// docs/metrics.md is the list of record: the server exposes exactly the
// metrics it names, and each one this file reads moves with what it counts.
TEST_F(ObservabilityTest, EveryDocumentedMetricIsExposedAndMoves) {
  DirectoryEnvOptions options;
  // A small budget (Podio's own limit too, else its headers raise ours),
  // spent at the end for a refusal.
  options.extra_sim_flags = {"--rate_limit=40"};
  options.extra_server_flags = {"--rate_limit=40",
                                "--readiness_interval=100ms"};
  Start(options);
  // Name -> whether its family has labels (such a family shows in /metrics
  // only once it has a sample).
  std::map<std::string, bool> documented;
  for (absl::string_view line :
       absl::StrSplit(ReadFile(RunfilePath("docs/metrics.md")), '\n')) {
    if (!absl::ConsumePrefix(&line, "| `")) continue;
    std::vector<std::string> cells = absl::StrSplit(line, " | ");
    ASSERT_GE(cells.size(), 3u) << line;
    documented[cells[0].substr(0, cells[0].find('`'))] = cells[2] != "–";
  }
  EXPECT_GE(documented.size(), 18u);
  auto exposed = [&] {
    std::set<std::string> names;
    for (absl::string_view line : absl::StrSplit(Get("/metrics"), '\n')) {
      if (!absl::ConsumePrefix(&line, "# TYPE ")) continue;
      names.insert(std::string(line.substr(0, line.find(' '))));
    }
    return names;
  };
  // Nothing undocumented, and every family without labels is there at once.
  auto check_exposed = [&] {
    const std::set<std::string> names = exposed();
    for (const std::string& name : names) {
      EXPECT_TRUE(documented.count(name))
          << name << " is not in docs/metrics.md";
    }
    for (const auto& [name, labelled] : documented) {
      if (!labelled) EXPECT_TRUE(names.count(name)) << name << " is missing";
    }
  };
  check_exposed();

  const std::string demo = env_->account("demo");
  auto stub = v1::UserDirectory::NewStub(env_->channel());
  // Latency and the budget's view of what Podio reports.
  const double timed = Metric("unified_rpc_duration_seconds_count");
  const double reported = Metric("unified_budget_remaining_count");
  {
    grpc::ClientContext context;
    ASSERT_THAT(GetMe(&context, demo), IsOk());
  }
  EXPECT_GE(Metric("unified_rpc_duration_seconds_count"), timed + 1);
  EXPECT_GE(Metric("unified_budget_remaining_count"), reported + 1);
  // A refresh.
  const double refreshes = Metric("unified_token_refreshes_total");
  {
    auto accounts = v1::IntegratedAccounts::NewStub(env_->channel());
    grpc::ClientContext context;
    v1::RefreshCredentialsRequest request;
    request.set_integrated_account_id(demo);
    v1::IntegratedAccount refreshed;
    ASSERT_THAT(accounts->RefreshCredentials(&context, request, &refreshed),
                IsOk());
  }
  EXPECT_EQ(Metric("unified_token_refreshes_total"), refreshes + 1);
  // The store's checks run every 100 ms: their count grows.
  const double checks = Metric("unified_store_check_seconds_count");
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (Metric("unified_store_check_seconds_count") <= checks &&
         absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_GT(Metric("unified_store_check_seconds_count"), checks);
  // An open stream counts while it is open (a watch: it stays open, where
  // a short listing's stream may finish before its client reads it).
  const double open = Metric("unified_open_streams");
  {
    grpc::ClientContext context;
    v1::WatchDirectoryRequest request;
    request.set_integrated_account_id(demo);
    request.set_include_snapshot(true);
    auto reader = stub->WatchDirectory(&context, request);
    v1::DirectoryEvent event;
    ASSERT_TRUE(reader->Read(&event));
    EXPECT_EQ(Metric("unified_open_streams"), open + 1);
    context.TryCancel();
    (void)reader->Finish();
  }
  testing::WaitUntil([&] { return Metric("unified_open_streams") == open; });
  EXPECT_EQ(Metric("unified_open_streams"), open);
  // Spend the budget: the first call it refuses is counted.
  const double refusals = Metric("unified_budget_refusals_total");
  bool refused = false;
  for (int i = 0; i < 60 && !refused; ++i) {
    grpc::ClientContext context;
    const grpc::Status s = GetMe(&context, demo);
    refused = s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
              testing::ErrorInfoOf(s).reason() == "RATE_BUDGET_EXHAUSTED";
  }
  ASSERT_TRUE(refused);
  EXPECT_EQ(Metric("unified_budget_refusals_total"), refusals + 1);
  check_exposed();
  EXPECT_TRUE(exposed().count("unified_token_refreshes_total"));
}

// Header values no client may send (a newline, then a line shaped like our
// own; a megabyte) reach gRPC's own logging: every line the server writes
// to stderr must still be one JSON object of at most 16 KiB, and the forged
// line never one of them.
TEST_F(ObservabilityTest, EveryStderrLineIsOneJsonObjectWhateverCallersSend) {
  Start();
  const std::string forged =
      "\n{\"time\":\"2026-01-01T00:00:00.000Z\",\"level\":\"info\","
      "\"msg\":\"forged\"}";
  const std::vector<std::pair<std::string, std::string>> normal = {
      {":method", "POST"},
      {":scheme", "http"},
      {":path", "/unified.v1.UserDirectory/GetMe"},
      {":authority", "localhost"},
      {"content-type", "application/grpc"},
      {"te", "trailers"},
      {"grpc-timeout", "10S"},
      {"grpc-encoding", "identity"}};
  std::vector<std::vector<std::pair<std::string, std::string>>> requests;
  for (size_t i = 4; i < normal.size(); ++i) {
    auto headers = normal;
    headers[i].second += forged;
    requests.push_back(headers);
  }
  auto huge = normal;
  huge[6].second = "1S" + std::string(1 << 20, 'x');
  requests.push_back(huge);
  for (const auto& headers : requests) {
    EXPECT_THAT(testing::SendRawHttp2Request(env_->server().address, headers),
                IsOk());
  }
  {
    grpc::ClientContext context;
    EXPECT_THAT(GetMe(&context, env_->account("demo")), IsOk());
  }
  ASSERT_EQ(env_->StopServer(), 0);
  int lines = 0, grpc_lines = 0;
  for (absl::string_view line :
       absl::StrSplit(ReadFile(env_->log_path()), '\n', absl::SkipEmpty())) {
    ++lines;
    EXPECT_LT(line.size(), 16u * 1024) << line.substr(0, 200);
    rapidjson::Document doc;
    doc.Parse(line.data(), line.size());
    ASSERT_TRUE(!doc.HasParseError() && doc.IsObject())
        << "not one JSON object: " << line.substr(0, 300);
    ASSERT_TRUE(doc.HasMember("msg") && doc["msg"].IsString());
    const std::string msg = doc["msg"].GetString();
    EXPECT_NE(msg, "forged");
    grpc_lines += msg == "grpc" ? 1 : 0;
  }
  EXPECT_GT(lines, 0);
  // gRPC said something of those requests, through the same writer.
  EXPECT_GT(grpc_lines, 0);
}

TEST_F(ObservabilityTest, RequestIdsAreEchoedAndEveryRpcIsLoggedOnce) {
  Start();
  const std::string demo = env_->account("demo");
  auto echoed = [](const grpc::ClientContext& context) {
    for (const auto* metadata : {&context.GetServerInitialMetadata(),
                                 &context.GetServerTrailingMetadata()}) {
      auto it = metadata->find("x-request-id");
      if (it != metadata->end()) {
        return std::string(it->second.data(), it->second.size());
      }
    }
    return std::string();
  };
  {
    grpc::ClientContext context;
    context.AddMetadata("x-request-id", "req-42.abc");
    ASSERT_THAT(GetMe(&context, demo), IsOk());
    EXPECT_EQ(echoed(context), "req-42.abc");
  }
  {
    grpc::ClientContext context;
    context.AddMetadata(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    EXPECT_THAT(GetMe(&context, "ia_000000000000000000000000"),
                StatusIs(grpc::StatusCode::NOT_FOUND));
    EXPECT_EQ(echoed(context), "4bf92f3577b34da6a3ce929d0e0e4736");
  }
  std::string generated;
  {
    grpc::ClientContext context;
    context.AddMetadata("x-request-id", "bad id with spaces");
    ASSERT_THAT(GetMe(&context, demo), IsOk());
    generated = echoed(context);
    EXPECT_EQ(generated.size(), 32u);
    EXPECT_NE(generated, "bad id with spaces");
  }
  // Log lines are written in batches (every 100 ms): wait for ours.
  std::vector<rapidjson::Document> lines;
  auto logged = [&](const std::string& id) {
    for (const rapidjson::Document& line : lines) {
      if (line["request_id"].GetString() == id) return true;
    }
    return false;
  };
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  do {
    lines = AccessLog();
  } while (!(logged("req-42.abc") &&
             logged("4bf92f3577b34da6a3ce929d0e0e4736") && logged(generated)) &&
           absl::Now() < give_up &&
           (absl::SleepFor(absl::Milliseconds(50)), true));
  std::map<std::string, int> seen;
  for (const rapidjson::Document& line : lines) {
    const std::string id = line["request_id"].GetString();
    ++seen[id];
    if (id == "req-42.abc") {
      EXPECT_EQ(std::string(line["method"].GetString()),
                "/unified.v1.UserDirectory/GetMe");
      EXPECT_EQ(std::string(line["code"].GetString()), "OK");
      EXPECT_EQ(std::string(line["tenant"].GetString()), "tenant-a");
      EXPECT_EQ(std::string(line["account"].GetString()), demo);
      EXPECT_GE(line["upstream_calls"].GetInt(), 1);
      EXPECT_TRUE(line["duration_ms"].IsNumber());
    }
    if (id == "4bf92f3577b34da6a3ce929d0e0e4736") {
      EXPECT_EQ(std::string(line["code"].GetString()), "NOT_FOUND");
      EXPECT_EQ(std::string(line["reason"].GetString()),
                "INTEGRATED_ACCOUNT_NOT_FOUND");
    }
  }
  EXPECT_EQ(seen["req-42.abc"], 1);
  EXPECT_EQ(seen["4bf92f3577b34da6a3ce929d0e0e4736"], 1);
  EXPECT_EQ(seen[generated], 1);
  // No log line holds a secret the test knows of.
  const std::string logs = ReadFile(env_->log_path());
  for (const auto& [tenant, key] : env_->files().api_keys) {
    EXPECT_THAT(logs, Not(HasSubstr(key))) << tenant << "'s API key";
  }
  for (const char* secret :
       {"demo-password", "regular-password", "demo-secret"}) {
    EXPECT_THAT(logs, Not(HasSubstr(secret)));
  }
}

TEST_F(ObservabilityTest, ReadinessFollowsTheStore) {
  testing::TestPostgres* pg = accounts::SharedPostgres();
  ASSERT_NE(pg, nullptr);
  DirectoryEnvOptions options;
  options.store = accounts::FreshStoreUrl("postgresql");
  options.extra_server_flags = {"--readiness_interval=200ms"};
  Start(options);
  auto health = grpc::health::v1::Health::NewStub(env_->channel());
  auto serving = [&](const std::string& name = "") {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(name);
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status s = health->Check(&context, request, &response);
    return s.ok() &&
           response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  };
  // Waits (bounded) for the server to report `want`.
  auto reaches = [&](bool want) {
    return testing::WaitUntil([&] {
      int status = 0;
      Get("/readyz", &status);
      return serving() == want && (status == 200) == want;
    });
  };
  ASSERT_TRUE(reaches(true));
  const double errors = Metric("unified_store_check_errors_total");
  ASSERT_THAT(pg->Stop(), IsOk());
  EXPECT_TRUE(reaches(false)) << "still SERVING 10 s after the store stopped";
  EXPECT_EQ(Metric("unified_ready"), 0);
  EXPECT_GT(Metric("unified_store_check_errors_total"), errors);
  int live = 0;
  Get("/healthz", &live);
  EXPECT_EQ(live, 200);  // Alive all the same.
  // The "readiness" name Kubernetes probes stays SERVING: every replica
  // answers STORE_UNAVAILABLE itself rather than all leaving the Service.
  EXPECT_TRUE(serving("readiness"));
  EXPECT_TRUE(serving("liveness"));
  ASSERT_THAT(pg->Resume(), IsOk());
  EXPECT_TRUE(reaches(true)) << "not SERVING 10 s after the store returned";
  grpc::ClientContext context;
  EXPECT_THAT(GetMe(&context, env_->account("demo")), IsOk());
}

}  // namespace
}  // namespace unified
