// Failover of a real cluster (tools/cluster, docs/cluster.md): PostgreSQL,
// the simulator, 3 replicas and HAProxy, all real processes. Every call goes
// through the load balancer; replicas are killed with SIGKILL and the
// database is stopped under load.
#include <atomic>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "connectors/common/http_client.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "proto/unified/v1/proxy.grpc.pb.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "rapidjson/document.h"
#include "tools/testing/api_key_channel.h"
#include "tests/testing/rich_error.h"
#include "tests/testing/status_matchers.h"
#include "tools/cluster/cluster.h"

namespace unified {
namespace {

using ::unified::testing::ErrorInfoOf;
using ::unified::testing::IsOk;
using ::unified::testing::RetryDelayOf;
using v1::DirectoryEvent;

constexpr int kUsers = 3000;

// Whether a failed call is worth another try: an error the service did not
// send (no ErrorInfo: the transport, or HAProxy resetting a stream whose
// replica died), or one whose reason says so (docs/clients.md).
bool Resumable(const grpc::Status& status) {
  const std::string reason = ErrorInfoOf(status).reason();
  if (reason.empty()) {
    return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
           status.error_code() == grpc::StatusCode::UNKNOWN ||
           status.error_code() == grpc::StatusCode::INTERNAL;
  }
  return RetryDelayOf(status).has_value();
}

std::unique_ptr<grpc::ClientContext> Context(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  // HAProxy is up throughout: a call waits for its connection, never for a
  // replica.
  context->set_wait_for_ready(true);
  return context;
}

// One cluster per test suite, started by the suite's SetUpTestSuite.
class ClusterTest : public ::testing::Test {
 protected:
  static void StartCluster(const cluster::ClusterOptions& options) {
    absl::StatusOr<std::unique_ptr<cluster::Cluster>> started =
        cluster::Cluster::Start(options);
    ASSERT_TRUE(started.ok()) << started.status();
    cluster_ = started->release();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    channel_ = testing::ApiKeyChannel(cluster_->address(),
                                      cluster_->fixture().api_key());
    directory_ = v1::UserDirectory::NewStub(channel_);
  }

  const std::string& account() { return cluster_->fixture().account(); }

  // The replica serving the most calls now, by HAProxy's count.
  // Requests HAProxy has given each backend so far (cumulative, so a test
  // compares two readings).
  std::map<std::string, int64_t> Sessions() {
    std::map<std::string, int64_t> out;
    absl::StatusOr<std::vector<cluster::BackendState>> backends =
        cluster_->Backends();
    EXPECT_TRUE(backends.ok()) << backends.status();
    if (!backends.ok()) return out;
    for (const cluster::BackendState& b : *backends) out[b.name] = b.sessions;
    return out;
  }

  // Fails unless every backend was given some of the requests sent since
  // `before` (a Sessions() reading).
  void ExpectEachReplicaServedSome(
      const std::map<std::string, int64_t>& before) {
    const std::map<std::string, int64_t> after = Sessions();
    ASSERT_EQ(after.size(), before.size());
    for (const auto& [name, sessions] : after) {
      auto was = before.find(name);
      ASSERT_NE(was, before.end()) << name;
      EXPECT_GT(sessions - was->second, 0) << name << " served none";
    }
  }

  int BusiestReplica() {
    absl::StatusOr<std::vector<cluster::BackendState>> backends =
        cluster_->Backends();
    EXPECT_TRUE(backends.ok()) << backends.status();
    int busiest = -1;
    int64_t most = 0;
    for (size_t i = 0; backends.ok() && i < backends->size(); ++i) {
      if ((*backends)[i].current > most) {
        most = (*backends)[i].current;
        busiest = static_cast<int>(i);
      }
    }
    return busiest;
  }

  void RestartReplica(int i) {
    ASSERT_THAT(cluster_->fixture().RestartReplica(i), IsOk());
    ASSERT_THAT(cluster_->WaitForUp(3, absl::Seconds(30)), IsOk());
  }

  // The simulator's admin API.
  std::string Sim(const std::string& method, const std::string& path) {
    HttpRequest request;
    request.method = method;
    request.url = cluster_->fixture().sim_admin_url() + path;
    absl::StatusOr<HttpResponse> answer = http_->Send(request);
    EXPECT_TRUE(answer.ok()) << answer.status();
    return answer.ok() ? answer->body : "";
  }
  int64_t LogPosition() {
    rapidjson::Document doc;
    doc.Parse(Sim("GET", "/requests?since=999999999").c_str());
    return doc.HasMember("next") ? doc["next"].GetInt64() : -1;
  }
  int TokenRequestsSince(int64_t position) {
    rapidjson::Document doc;
    doc.Parse(Sim("GET", absl::StrCat("/requests?since=", position)).c_str());
    int count = 0;
    for (const auto& r : doc["requests"].GetArray()) {
      count += std::string(r["path"].GetString()) == "/oauth/token" ? 1 : 0;
    }
    return count;
  }

  // Every user of the account by StreamUsers, resumed from the last cursor
  // after each failure worth retrying. `after_first_page` runs once, with
  // the first page taken and the rest not yet read.
  struct Listing {
    std::vector<std::string> ids;
    int resumes = 0;
    grpc::Status failure;
  };
  Listing StreamAll(const std::function<void()>& after_first_page) {
    Listing out;
    v1::ListUsersRequest request;
    request.set_integrated_account_id(account());
    request.set_limit(100);
    bool first = true;
    while (true) {
      auto context = Context(absl::Seconds(120));
      auto reader = directory_->StreamUsers(context.get(), request);
      v1::ListUsersResponse page;
      bool more = true;
      while (more && reader->Read(&page)) {
        for (const v1::User& u : page.result()) out.ids.push_back(u.id());
        request.set_cursor(page.next_cursor());
        more = !page.next_cursor().empty();
        if (first) {
          first = false;
          if (after_first_page) after_first_page();
        }
      }
      if (!more) context->TryCancel();
      const grpc::Status status = reader->Finish();
      if (!more || status.ok()) return out;
      if (!Resumable(status) || ++out.resumes > 20) {
        out.failure = status;
        return out;
      }
    }
  }

  static cluster::Cluster* cluster_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::UserDirectory::Stub> directory_;
  std::unique_ptr<HttpClient> http_ = NewCurlHttpClient({});
};

cluster::Cluster* ClusterTest::cluster_ = nullptr;

class ClusterFailoverTest : public ClusterTest {
 protected:
  static void SetUpTestSuite() {
    cluster::ClusterOptions options;
    options.replicas = 3;
    options.fixture.users = kUsers;
    StartCluster(options);
  }
};

TEST_F(ClusterFailoverTest, StreamsResumeThroughTheBalancerWhenAReplicaDies) {
  const Listing clean = StreamAll(nullptr);
  ASSERT_THAT(clean.failure, IsOk());
  ASSERT_EQ(clean.ids.size(), static_cast<size_t>(kUsers));
  ASSERT_EQ(std::set<std::string>(clean.ids.begin(), clean.ids.end()).size(),
            clean.ids.size());

  // 10 listings, each holding its first page (and, by flow control, most of
  // the rest at its replica) while the busiest replica is killed.
  constexpr int kStreams = 10;
  absl::BlockingCounter first_pages(kStreams);
  absl::Notification killed;
  std::vector<Listing> listings(kStreams);
  std::vector<std::thread> threads;
  for (int i = 0; i < kStreams; ++i) {
    threads.emplace_back([&, i] {
      listings[i] = StreamAll([&] {
        first_pages.DecrementCount();
        killed.WaitForNotification();
      });
    });
  }
  first_pages.Wait();
  const int victim = BusiestReplica();
  ASSERT_GE(victim, 0);
  cluster_->fixture().KillReplica(victim);
  killed.Notify();
  for (std::thread& t : threads) t.join();

  int resumes = 0;
  for (const Listing& l : listings) {
    EXPECT_THAT(l.failure, IsOk());
    EXPECT_EQ(l.ids, clean.ids);  // 0 lost, 0 repeated, in order.
    resumes += l.resumes;
  }
  EXPECT_GT(resumes, 0) << "no listing was on the killed replica";
  RestartReplica(victim);
}

TEST_F(ClusterFailoverTest, WatchResumesOnAnotherReplicaGapless) {
  auto proxy = v1::Proxy::NewStub(channel_);
  auto set_role = [&](const DirectoryEvent& member, const std::string& role) {
    v1::ProxyRequest request;
    request.set_integrated_account_id(account());
    request.set_method("PUT");
    request.set_path(absl::StrCat("/space/", member.workspace().id(),
                                  "/member/", member.user().id()));
    v1::Header* type = request.add_headers();
    type->set_name("Content-Type");
    type->set_value("application/json");
    request.set_body(absl::StrCat(R"({"role":")", role, R"("})"));
    v1::ProxyResponse answer;
    auto context = Context(absl::Seconds(30));
    ASSERT_THAT(proxy->Call(context.get(), request, &answer), IsOk());
    ASSERT_EQ(answer.status() / 100, 2) << answer.body();
  };

  v1::WatchDirectoryRequest request;
  request.set_integrated_account_id(account());
  request.set_include_snapshot(true);
  auto context = Context(absl::Seconds(120));
  auto reader = directory_->WatchDirectory(context.get(), request);
  DirectoryEvent event, member;
  int64_t position = -1;
  while (position < 0 && reader->Read(&event)) {
    if (event.type() == DirectoryEvent::MEMBER_ADDED &&
        event.role_id() == "workspace.regular" && member.user().id().empty()) {
      member = event;
    }
    if (event.type() == DirectoryEvent::SNAPSHOT_COMPLETE) {
      position = event.sequence();
    }
  }
  ASSERT_GE(position, 0);
  ASSERT_FALSE(member.user().id().empty());

  auto next_change = [&](DirectoryEvent* out) {
    while (reader->Read(out)) {
      if (out->type() != DirectoryEvent::HEARTBEAT) return true;
    }
    return false;
  };
  // A change: Podio's hook reaches some replica through the balancer; the
  // event reaches the watch from the shared log.
  set_role(member, "admin");
  DirectoryEvent first;
  ASSERT_TRUE(next_change(&first));

  // The replica serving the watch (the only open call) dies.
  const int victim = BusiestReplica();
  ASSERT_GE(victim, 0);
  cluster_->fixture().KillReplica(victim);
  DirectoryEvent ignored;
  EXPECT_FALSE(next_change(&ignored));
  const grpc::Status broken = reader->Finish();
  EXPECT_TRUE(Resumable(broken)) << broken.error_message();

  // Resumed from the last token, on another replica.
  request.set_include_snapshot(false);
  request.set_resume_token(first.resume_token());
  context = Context(absl::Seconds(120));
  reader = directory_->WatchDirectory(context.get(), request);
  set_role(member, "regular");
  DirectoryEvent second;
  ASSERT_TRUE(next_change(&second));
  context->TryCancel();
  (void)reader->Finish();

  auto describe = [](const DirectoryEvent& e) {
    return absl::StrCat(DirectoryEvent::Type_Name(e.type()), " ", e.user().id(),
                        "@", e.workspace().id(), " ", e.role_id(), " #",
                        e.sequence());
  };
  const std::string who =
      absl::StrCat(member.user().id(), "@", member.workspace().id());
  EXPECT_EQ(describe(first), absl::StrCat("ROLE_CHANGED ", who,
                                          " workspace.admin #", position + 1));
  EXPECT_EQ(
      describe(second),
      absl::StrCat("ROLE_CHANGED ", who, " workspace.regular #", position + 2));
  RestartReplica(victim);
}

TEST_F(ClusterFailoverTest,
       FiftyCallsOnAnExpiredTokenAcrossReplicasRefreshOnce) {
  Sim("POST", "/clock/advance?seconds=32400");  // Podio: the token expired.
  const int64_t position = LogPosition();
  const std::map<std::string, int64_t> before = Sessions();
  std::vector<grpc::Status> statuses(50);
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      v1::GetMeRequest request;
      request.set_integrated_account_id(account());
      v1::User me;
      auto context = Context(absl::Seconds(60));
      statuses[i] = directory_->GetMe(context.get(), request, &me);
    });
  }
  for (std::thread& t : threads) t.join();
  for (const grpc::Status& s : statuses) EXPECT_THAT(s, IsOk());
  EXPECT_EQ(TokenRequestsSince(position), 1);
  // Spread: every replica served some of them.
  ExpectEachReplicaServedSome(before);
}

TEST_F(ClusterFailoverTest, ADatabaseOutageAnswersUnavailableThenRecovers) {
  // Callers keep calling while PostgreSQL stops.
  std::atomic<bool> done{false};
  absl::Mutex mu;
  int unavailable_with_retry = 0;
  std::vector<std::string> other_failures;
  auto call = [&] {
    v1::GetMeRequest request;
    request.set_integrated_account_id(account());
    v1::User me;
    auto context = Context(absl::Seconds(10));
    return directory_->GetMe(context.get(), request, &me);
  };
  // Until `n` more calls have answered UNAVAILABLE with RetryInfo.
  auto await_failures = [&](int n) {
    struct Reached {
      const int* count;
      int target;
    };
    absl::MutexLock lock(&mu);
    Reached reached{&unavailable_with_retry, unavailable_with_retry + n};
    return mu.AwaitWithTimeout(
        absl::Condition(
            +[](Reached* r) { return *r->count >= r->target; }, &reached),
        absl::Seconds(60));
  };
  ASSERT_THAT(call(), IsOk());
  ASSERT_THAT(cluster_->postgres().Stop(), IsOk());
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&] {
      while (!done.load()) {
        const grpc::Status s = call();
        if (s.ok()) continue;  // Served before the store was missed.
        absl::MutexLock lock(&mu);
        if (s.error_code() == grpc::StatusCode::UNAVAILABLE &&
            RetryDelayOf(s).has_value() && !ErrorInfoOf(s).reason().empty()) {
          ++unavailable_with_retry;
        } else {
          other_failures.push_back(absl::StrCat(s.error_code(), " ",
                                                ErrorInfoOf(s).reason(), " ",
                                                s.error_message()));
        }
      }
    });
  }
  // The replicas answer it themselves while ready; then, no replica being
  // ready, HAProxy sends the calls to the live ones, which still answer
  // with RetryInfo (not the balancer's bare 503).
  const bool outage_seen = await_failures(20);
  const absl::Status none_ready = cluster_->WaitForUp(0, absl::Seconds(30));
  const bool outage_seen_unready = await_failures(20);
  // Readiness follows the store; liveness (for restarts) does not.
  auto health = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(cluster_->fixture().replica_address(0),
                          grpc::InsecureChannelCredentials()));
  auto status_of = [&](const std::string& service) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    auto context = Context(absl::Seconds(10));
    EXPECT_THAT(health->Check(context.get(), request, &response), IsOk());
    return response.status();
  };
  EXPECT_EQ(status_of(""), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(status_of("liveness"),
            grpc::health::v1::HealthCheckResponse::SERVING);
  ASSERT_THAT(cluster_->postgres().Resume(), IsOk());
  const absl::Time back = absl::Now();
  done = true;
  for (std::thread& t : callers) t.join();
  EXPECT_TRUE(outage_seen) << "no UNAVAILABLE with RetryInfo in 60 s";
  EXPECT_THAT(none_ready, IsOk());
  EXPECT_TRUE(outage_seen_unready)
      << "no UNAVAILABLE with RetryInfo with every replica unready";
  EXPECT_THAT(other_failures, ::testing::IsEmpty());
  // Ready again, by HAProxy's checks, within 10 s of the return.
  EXPECT_THAT(cluster_->WaitForUp(3, back + absl::Seconds(10) - absl::Now()),
              IsOk());

  // Each replica, asked directly, serves again within 10 s of the return.
  fixture::Fixture& f = cluster_->fixture();
  for (int i = 0; i < f.replicas(); ++i) {
    auto replica = v1::UserDirectory::NewStub(
        testing::ApiKeyChannel(f.replica_address(i), f.api_key()));
    grpc::Status last;
    while (absl::Now() < back + absl::Seconds(10)) {
      v1::GetMeRequest request;
      request.set_integrated_account_id(account());
      v1::User me;
      auto context = Context(absl::Seconds(2));
      last = replica->GetMe(context.get(), request, &me);
      if (last.ok()) break;
      // The replica's own RetryInfo paces the next try (at most 200 ms).
      absl::SleepFor(std::min(RetryDelayOf(last).value_or(absl::Seconds(0)),
                              absl::Milliseconds(200)));
    }
    EXPECT_THAT(last, IsOk()) << "replica " << i << " not back in 10 s";
  }
  // The credentials are whole: a forced refresh works and is stored.
  auto accounts = v1::IntegratedAccounts::NewStub(channel_);
  v1::RefreshCredentialsRequest refresh;
  refresh.set_integrated_account_id(account());
  v1::IntegratedAccount refreshed;
  auto context = Context(absl::Seconds(30));
  EXPECT_THAT(accounts->RefreshCredentials(context.get(), refresh, &refreshed),
              IsOk());
  EXPECT_EQ(refreshed.status(), v1::IntegratedAccount::ACTIVE);
}

// Podio's limit, shared by the replicas through PostgreSQL's rate ledger,
// over simulated hours: the simulator's clock keeps real time, and its rate
// window and the service's are both kWindow, so each kWindow is one of
// Podio's hours.
class ClusterBudgetTest : public ClusterTest {
 protected:
  static constexpr int kPodioLimit = 60;
  static constexpr absl::Duration kWindow = absl::Seconds(3);
  static void SetUpTestSuite() {
    const std::string window = absl::StrCat(absl::ToInt64Seconds(kWindow), "s");
    cluster::ClusterOptions options;
    options.replicas = 3;
    options.fixture.users = 300;
    options.fixture.sim_flags = {absl::StrCat("--rate_limit=", kPodioLimit),
                                 "--rate_window=" + window,
                                 "--real_time_clock"};
    options.fixture.server_flags = {"--testing_rate_window=" + window};
    StartCluster(options);
  }
};

TEST_F(ClusterBudgetTest, TwentyCallersForThreeHoursNeverTripPodiosLimit) {
  constexpr int kCallers = 20, kHours = 3;
  const int64_t position = LogPosition();
  const std::map<std::string, int64_t> before = Sessions();
  const absl::Time end = absl::Now() + kHours * kWindow;
  absl::Mutex mu;
  int ok = 0, refused = 0;
  std::vector<std::string> others;
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&] {
      while (absl::Now() < end) {
        v1::GetMeRequest request;
        request.set_integrated_account_id(account());
        v1::User me;
        // A call waits for the budget within its deadline (here long
        // enough for the next hour), and is refused when it frees later.
        auto context = Context(2 * kWindow);
        const grpc::Status s = directory_->GetMe(context.get(), request, &me);
        absl::MutexLock lock(&mu);
        if (s.ok()) {
          ++ok;
        } else if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
                   ErrorInfoOf(s).reason() == "RATE_BUDGET_EXHAUSTED" &&
                   RetryDelayOf(s).has_value()) {
          ++refused;
        } else {
          others.push_back(absl::StrCat(s.error_code(), " ",
                                        ErrorInfoOf(s).reason(), " ",
                                        s.error_message()));
        }
      }
    });
  }
  for (std::thread& t : callers) t.join();
  // Every call was served, having waited for the budget where it was spent,
  // or refused at once by the service before Podio saw it: a wait that
  // would outlast the deadline is never begun (docs/api.md, "The rate budget"),
  // so no call ends DEADLINE_EXCEEDED.
  EXPECT_THAT(others, ::testing::IsEmpty());
  rapidjson::Document doc;
  doc.Parse(Sim("GET", absl::StrCat("/requests?since=", position)).c_str());
  int api_calls = 0, rate_limited = 0;
  for (const auto& r : doc["requests"].GetArray()) {
    if (std::string(r["path"].GetString()) == "/oauth/token") continue;
    ++api_calls;
    rate_limited += r["status"].GetInt() == 420 ? 1 : 0;
  }
  // Podio never answered 420, and the budget was spent hour after hour, by
  // all replicas together.
  EXPECT_EQ(rate_limited, 0);
  EXPECT_GT(api_calls, kPodioLimit * (kHours - 1));
  EXPECT_LE(api_calls, kPodioLimit * (kHours + 1));
  std::printf(
      "%d simulated hours (%s each), %d callers: %d calls served, "
      "%d refused by the shared budget; Podio saw %d calls (limit "
      "%d an hour), %d answered 420\n",
      kHours, absl::FormatDuration(kWindow).c_str(), kCallers, ok, refused,
      api_calls, kPodioLimit, rate_limited);
  // The replicas shared the load.
  ExpectEachReplicaServedSome(before);
}

}  // namespace
}  // namespace unified
