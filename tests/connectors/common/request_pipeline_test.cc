// The shared request pipeline against a scripted HttpClient and a made-up
// provider protocol: each policy (admission, credentials, refresh once,
// retry within the budget, the rate-limit stop) seen on its own.
#include "connectors/common/request_pipeline.h"

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "connectors/common/error_details.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace unified {
namespace {

using ::testing::ElementsAre;
using ::unified::testing::FakeClock;
using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

// Answers from a script, recording what was sent.
class ScriptedHttp final : public HttpClient {
 public:
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    sent.push_back(request);
    if (script.empty()) return absl::InternalError("script ran out");
    absl::StatusOr<HttpResponse> next = script.front();
    script.pop_front();
    return next;
  }
  std::deque<absl::StatusOr<HttpResponse>> script;
  std::vector<HttpRequest> sent;
};

HttpResponse Answer(int status, std::string body = "{}") {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// "Token t" credentials; 401 "stale" means expired; 429 stops for the
// seconds in its body; X-Left reports what is left.
class TestProtocol final : public UpstreamProtocol {
 public:
  std::string display_name() const override { return "Test"; }
  void Authorize(const std::string& token,
                 HttpRequest& attempt) const override {
    attempt.headers.emplace_back("Authorization", "Token " + token);
  }
  bool IsExpiredToken(const HttpResponse& response) const override {
    return response.status == 401 && response.body == "stale";
  }
  RateSignal ReadRateSignal(const HttpResponse& response) const override {
    RateSignal s;
    if (!response.Header("x-left").empty()) {
      s.limit = 10;
      s.remaining = std::stoll(response.Header("x-left"));
    }
    if (response.status == 429) {
      s.stop = true;
      s.wait = absl::Seconds(std::stoll(response.body));
    }
    return s;
  }
};

// The fake clock's time, where a backoff sleep moves time on at once.
class JumpingClock final : public Clock {
 public:
  explicit JumpingClock(FakeClock* clock) : clock_(clock) {}
  absl::Time Now() override { return clock_->Now(); }
  bool SleepUntil(absl::Time until, const std::function<bool()>&) override {
    if (until > clock_->Now()) clock_->Advance(until - clock_->Now());
    return true;
  }

 private:
  FakeClock* const clock_;
};

class CountingTokens final : public TokenSource {
 public:
  absl::StatusOr<std::string> AccessToken(absl::Time) override { return token; }
  absl::StatusOr<std::string> Refresh(const std::string& rejected,
                                      absl::Time) override {
    ++refreshes;
    token = "fresh";
    return token;
  }
  std::string token = "old";
  int refreshes = 0;
};

class RequestPipelineTest : public ::testing::Test {
 protected:
  RequestPipelineTest() {
    budget_options_.limit = 100;
    ledger_ = NewMemoryRateLedger(budget_options_);
    budget_ =
        std::make_unique<RateBudget>(ledger_.get(), &clock_, budget_options_);
    RequestPipelineOptions options;
    options.api_base = "https://api.test";
    options.initial_backoff = absl::Milliseconds(1);
    options.classifier = RateClassifier({"GET /limited/**"});
    pipeline_ = std::make_unique<RequestPipeline>(&http_, &jumping_, &protocol_,
                                                  options);
    ctx_.deadline = clock_.Now() + absl::Minutes(1);
    ctx_.tokens = &tokens_;
    ctx_.budget = budget_.get();
    ctx_.budget_key = "test:user:1/client";
  }

  HttpRequest Get(std::string url) {
    HttpRequest r;
    r.url = std::move(url);
    return r;
  }

  FakeClock clock_;
  JumpingClock jumping_{&clock_};
  RateBudgetOptions budget_options_;
  std::unique_ptr<RateLedger> ledger_;
  std::unique_ptr<RateBudget> budget_;
  ScriptedHttp http_;
  TestProtocol protocol_;
  CountingTokens tokens_;
  std::unique_ptr<RequestPipeline> pipeline_;
  CallContext ctx_;
};

TEST_F(RequestPipelineTest, InjectsCredentialsBaseAndAccept) {
  http_.script.push_back(Answer(200));
  ASSERT_THAT(pipeline_->Send(ctx_, Get("/a?b=1"), true).status(), IsOk());
  ASSERT_EQ(http_.sent.size(), 1u);
  EXPECT_EQ(http_.sent[0].url, "https://api.test/a?b=1");
  EXPECT_THAT(http_.sent[0].headers,
              ElementsAre(std::make_pair("Authorization", "Token old"),
                          std::make_pair("Accept", "application/json")));
  EXPECT_EQ(pipeline_->requests_sent(), 1);
}

TEST_F(RequestPipelineTest, AdmissionRefusalIsFinalWhateverItCarries) {
  // A refusal with no ErrorInfo at all is still the admission's: returned
  // as it is, nothing sent, no retry.
  ctx_.admit = [] { return absl::ResourceExhaustedError("share spent"); };
  absl::StatusOr<HttpResponse> r = pipeline_->Send(ctx_, Get("/a"), true);
  EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(r.status().message(), "share spent");
  EXPECT_TRUE(http_.sent.empty());
}

TEST_F(RequestPipelineTest, RefreshesOnceThenReplays) {
  http_.script.push_back(Answer(401, "stale"));
  http_.script.push_back(Answer(200, "ok"));
  absl::StatusOr<HttpResponse> r = pipeline_->Send(ctx_, Get("/a"), false);
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(tokens_.refreshes, 1);
  ASSERT_EQ(http_.sent.size(), 2u);
  EXPECT_EQ(http_.sent[1].headers[0].second, "Token fresh");
}

TEST_F(RequestPipelineTest, SecondExpiredAnswerIsFinal) {
  http_.script.push_back(Answer(401, "stale"));
  http_.script.push_back(Answer(401, "stale"));
  absl::StatusOr<HttpResponse> r = pipeline_->Send(ctx_, Get("/a"), true);
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(tokens_.refreshes, 1);
  EXPECT_EQ(http_.sent.size(), 2u);
}

TEST_F(RequestPipelineTest, RetriesServerErrorsOnlyWhenAllowed) {
  http_.script.push_back(Answer(503));
  http_.script.push_back(Answer(200));
  EXPECT_EQ(pipeline_->Send(ctx_, Get("/a"), true)->status, 200);
  http_.script.clear();
  http_.script.push_back(Answer(503));
  http_.script.push_back(Answer(200));
  EXPECT_EQ(pipeline_->Send(ctx_, Get("/a"), false)->status, 503);
}

TEST_F(RequestPipelineTest, TransportFailuresAreClassifiedByCode) {
  http_.script.push_back(absl::UnavailableError("reset"));
  http_.script.push_back(absl::UnavailableError("reset"));
  http_.script.push_back(absl::UnavailableError("reset"));
  absl::Status s = pipeline_->Send(ctx_, Get("/a"), true).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(GetErrorInfo(s)->reason(), "UPSTREAM_UNREACHABLE");
  EXPECT_EQ(http_.sent.size(), 3u);

  http_.script.push_back(absl::ResourceExhaustedError("16 MiB"));
  s = pipeline_->Send(ctx_, Get("/a"), true).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInternal));
  EXPECT_EQ(GetErrorInfo(s)->reason(), "UPSTREAM_RESPONSE_TOO_LARGE");
}

TEST_F(RequestPipelineTest, RateSignalsFeedTheBudgetAndStopTheIdentity) {
  HttpResponse learned = Answer(200);
  learned.headers.emplace_back("x-left", "7");
  http_.script.push_back(learned);
  ASSERT_THAT(pipeline_->Send(ctx_, Get("/a"), true).status(), IsOk());
  absl::StatusOr<BudgetState> state = budget_->State(ctx_.budget_key);
  ASSERT_THAT(state.status(), IsOk());
  EXPECT_EQ(state->limit, 10);
  EXPECT_EQ(state->remaining, 7);

  http_.script.push_back(Answer(429, "120"));
  EXPECT_EQ(pipeline_->Send(ctx_, Get("/a"), true)->status, 429);
  state = budget_->State(ctx_.budget_key);
  EXPECT_EQ(state->blocked_until, clock_.Now() + absl::Seconds(120));
  // The identity is stopped: the next call is refused before sending.
  const size_t sent = http_.sent.size();
  ctx_.deadline = clock_.Now() + absl::Seconds(5);
  EXPECT_THAT(pipeline_->Send(ctx_, Get("/a"), true).status(),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(http_.sent.size(), sent);
}

TEST_F(RequestPipelineTest, PrefetchedAnswerServesTheGet) {
  PrefetchCache cache;
  ctx_.prefetch = &cache;
  http_.script.push_back(Answer(200, "ahead"));
  pipeline_->Prefetch(ctx_, "/list?offset=100");
  absl::StatusOr<HttpResponse> r = pipeline_->Get(ctx_, "/list?offset=100");
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->body, "ahead");
  EXPECT_EQ(http_.sent.size(), 1u);
}

}  // namespace
}  // namespace unified
