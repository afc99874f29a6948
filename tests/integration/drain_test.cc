// SIGTERM drains before it stops: health NOT_SERVING and /readyz 503 at
// once, while calls, new ones included, are still served for
// --shutdown_drain; then the server stops accepting and exits 0. A second
// signal ends the drain early. What still runs at the stop is answered
// UNAVAILABLE with reason SERVER_SHUTTING_DOWN and a RetryInfo, never
// gRPC's bare CANCELLED: watch streams at once, calls halfway through the grace
// ends. (Both clients riding a restart under load without a failed call:
// //tests/clients:python_restart_test and :node_restart_test.)
#include <signal.h>

#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "connectors/common/http_client.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "tests/integration/directory_env.h"
#include "tests/integration/watcher.h"
#include "tests/testing/rich_error.h"
#include "tests/testing/wait_until.h"

namespace unified {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::unified::testing::DirectoryEnv;
using ::unified::testing::DirectoryEnvOptions;

class DrainTest : public ::testing::Test {
 protected:
  void Start(const std::string& drain, const std::string& grace = "1s") {
    DirectoryEnvOptions options;
    options.data.users = 5;
    options.extra_server_flags = {"--shutdown_drain=" + drain,
                                  "--shutdown_grace=" + grace};
    env_ = std::make_unique<DirectoryEnv>(options);
    ASSERT_FALSE(env_->account("demo").empty());
  }
  grpc::Status GetMe() {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    v1::GetMeRequest request;
    request.set_integrated_account_id(env_->account("demo"));
    v1::User me;
    return v1::UserDirectory::NewStub(env_->channel())
        ->GetMe(&context, request, &me);
  }
  HealthCheckResponse::ServingStatus Health(const std::string& name = "") {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    HealthCheckRequest request;
    request.set_service(name);
    HealthCheckResponse response;
    grpc::Status s =
        Health::NewStub(env_->channel())->Check(&context, request, &response);
    return s.ok() ? response.status() : HealthCheckResponse::UNKNOWN;
  }
  int Readyz() {
    HttpRequest request;
    request.url =
        absl::StrCat("http://", env_->server().http_address, "/readyz");
    absl::StatusOr<HttpResponse> r = NewCurlHttpClient({})->Send(request);
    return r.ok() ? r->status : 0;
  }
  std::unique_ptr<DirectoryEnv> env_;
};

TEST_F(DrainTest, NotReadyFirstThenServesThroughTheDrainThenStops) {
  Start("3s");
  ASSERT_EQ(Health(), HealthCheckResponse::SERVING);
  ASSERT_EQ(Health("readiness"), HealthCheckResponse::SERVING);
  ASSERT_EQ(Readyz(), 200);
  const absl::Time signalled = absl::Now();
  env_->server().process->Signal(SIGTERM);
  // Not ready at once, whatever the store says...
  testing::WaitUntil(
      [&] { return Health() == HealthCheckResponse::NOT_SERVING; },
      absl::Seconds(2));
  EXPECT_EQ(Health(), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Health("readiness"), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Health("liveness"), HealthCheckResponse::SERVING);
  EXPECT_EQ(Readyz(), 503);
  // ...and new calls are still served while the drain lasts.
  int served = 0;
  while (absl::Now() - signalled < absl::Seconds(2)) {
    grpc::Status s = GetMe();
    ASSERT_TRUE(s.ok()) << s.error_message();
    ++served;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_GT(served, 5);
  absl::StatusOr<int> code = env_->server().process->Wait(absl::Seconds(20));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
  // The drain, then the stop: not before the drain ended.
  EXPECT_GE(absl::Now() - signalled, absl::Seconds(3));
}

TEST_F(DrainTest, ASecondSignalEndsTheDrain) {
  Start("60s");
  const absl::Time signalled = absl::Now();
  env_->server().process->Signal(SIGTERM);
  absl::SleepFor(absl::Milliseconds(300));
  env_->server().process->Signal(SIGTERM);
  absl::StatusOr<int> code = env_->server().process->Wait(absl::Seconds(20));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(20));
}

TEST_F(DrainTest, WhatStillRunsAtTheStopEndsWithErrorInfo) {
  Start("0s", "4s");
  // A watch stream, open; a call whose upstream answer takes a minute.
  v1::WatchDirectoryRequest request;
  request.set_integrated_account_id(env_->account("demo"));
  request.set_include_snapshot(true);
  testing::Watcher watch(env_->channel(), request);
  ASSERT_FALSE(watch.WaitFor(1).empty());
  env_->AddFault(R"({"method":"GET","path":"/user/status","kind":"latency",)"
                 R"("latency_ms":60000,"times":1})");
  grpc::Status slow;
  absl::Time slow_ended;
  std::thread call([&] {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(90)));
    v1::GetMeRequest me_request;
    me_request.set_integrated_account_id(env_->account("demo"));
    v1::User me;
    slow = v1::UserDirectory::NewStub(env_->channel())
               ->GetMe(&context, me_request, &me);
    slow_ended = absl::Now();
  });
  // The call has reached the simulator.
  ASSERT_TRUE(testing::WaitUntil([&] {
    // The fault has held back one call (the simulator logs a request only
    // once it is answered).
    return absl::StrContains(env_->Sim("GET", "/_sim/faults"),
                             R"("seen":1)");
  }));
  const absl::Time signalled = absl::Now();
  env_->server().process->Signal(SIGTERM);
  // The watch ends at once (long before the call), with its reason and a
  // RetryInfo.
  const grpc::Status watched = watch.WaitDone();
  EXPECT_EQ(watched.error_code(), grpc::StatusCode::UNAVAILABLE)
      << watched.error_message();
  EXPECT_EQ(testing::ErrorInfoOf(watched).reason(), "SERVER_SHUTTING_DOWN");
  EXPECT_TRUE(testing::RetryDelayOf(watched).has_value());
  call.join();
  // The call ran until halfway through the grace (2 s of 4),
  // and was answered, not cut.
  EXPECT_EQ(slow.error_code(), grpc::StatusCode::UNAVAILABLE)
      << slow.error_message();
  EXPECT_EQ(testing::ErrorInfoOf(slow).reason(), "SERVER_SHUTTING_DOWN");
  EXPECT_TRUE(testing::RetryDelayOf(slow).has_value());
  EXPECT_GE(slow_ended - signalled, absl::Seconds(2));
  EXPECT_LT(slow_ended - signalled, absl::Seconds(4));
  absl::StatusOr<int> code = env_->server().process->Wait(absl::Seconds(20));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
}

}  // namespace
}  // namespace unified
