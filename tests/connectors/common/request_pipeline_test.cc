// The shared request pipeline against a scripted HttpClient and a made-up
// provider protocol: each policy (admission, credentials, refresh once,
// retry within the budget, the rate-limit stop) seen on its own, and
// reading ahead on a scripted async client.
#include "connectors/common/request_pipeline.h"

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "connectors/common/error_details.h"
#include "connectors/common/read_ahead.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/testing/fake_clock.h"
#include "tests/testing/gzip.h"
#include "tests/testing/status_matchers.h"

namespace unified {
namespace {

using ::testing::ElementsAre;
using ::unified::testing::FakeClock;
using ::unified::testing::Gzip;
using ::unified::testing::IsOk;
using ::unified::testing::JumpingClock;
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

// Reading ahead (read_ahead.h) on an async client the test drives: each
// started exchange waits until the test answers it.
class HeldAsync final : public AsyncHttpClient {
 public:
  void Start(HttpRequest request, Done done) override {
    started.push_back(request.url);
    held.push_back({std::move(request), std::move(done)});
  }
  int in_flight() const override { return static_cast<int>(held.size()); }
  void PollCancelled() override {
    for (auto it = held.begin(); it != held.end();) {
      if (it->first.cancelled && it->first.cancelled()) {
        it->second(absl::CancelledError("cancelled"));
        it = held.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Answers the exchange of `url` (relative to the API base).
  void Answer(const std::string& url, absl::StatusOr<HttpResponse> answer) {
    for (auto it = held.begin(); it != held.end(); ++it) {
      if (it->first.url == "https://api.test" + url) {
        Done done = std::move(it->second);
        held.erase(it);
        done(std::move(answer));
        return;
      }
    }
    ADD_FAILURE() << "nothing in flight for " << url;
  }
  std::vector<std::string> started;
  std::deque<std::pair<HttpRequest, Done>> held;
};

class ReadAheadTest : public RequestPipelineTest {
 protected:
  ReadAheadTest() {
    RequestPipelineOptions options;
    options.api_base = "https://api.test";
    options.initial_backoff = absl::Milliseconds(1);
    pipeline_ = std::make_unique<RequestPipeline>(&http_, &jumping_, &protocol_,
                                                  options, &async_);
  }
  HttpResponse Ok(std::string body) {
    HttpResponse r = unified::Answer(200, std::move(body));
    r.headers.emplace_back("x-left", "9");
    return r;
  }
  HeldAsync async_;
};

TEST_F(ReadAheadTest, PlannedGetsStartAtOnceAndServeThePipelinesGets) {
  ReadAheadOptions options;
  options.initial_window = 2;
  ReadAhead ahead(pipeline_.get(), ctx_, options);
  ahead.Plan({"/p?o=0", "/p?o=1", "/p?o=2"});
  // Two at once (the window), each with the account's credentials.
  ASSERT_THAT(async_.started,
              ElementsAre("https://api.test/p?o=0", "https://api.test/p?o=1"));
  EXPECT_THAT(async_.held[0].first.headers,
              ::testing::Contains(std::make_pair(std::string("Authorization"),
                                                 std::string("Token old"))));
  // Answers wait as they came (gzipped), decoded only when used.
  EXPECT_FALSE(async_.held[0].first.decode_content);
  EXPECT_THAT(async_.held[0].first.headers,
              ::testing::Contains(std::make_pair(std::string("Accept-Encoding"),
                                                 std::string("gzip"))));
  async_.Answer("/p?o=0", Ok("zero"));
  async_.Answer("/p?o=1", Ok("one"));
  absl::StatusOr<HttpResponse> r = ahead.Get("/p?o=0");
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->body, "zero");
  EXPECT_TRUE(http_.sent.empty());  // Nothing went through the blocking way.
  // The budget learned the limit from the answer it used, and counts both
  // calls read ahead.
  EXPECT_EQ(budget_->State(ctx_.budget_key)->limit, 10);
  EXPECT_EQ(budget_->State(ctx_.budget_key)->remaining, 8);
  // A path never planned goes the ordinary way.
  http_.script.push_back(unified::Answer(200, "direct"));
  EXPECT_EQ(ahead.Get("/other")->body, "direct");
  EXPECT_EQ(ahead.started(), 2);
  EXPECT_EQ(ahead.wasted(), 1);  // "/p?o=1": not taken (yet).
}

TEST_F(ReadAheadTest, AFailedAnswerAheadIsReadAgainThroughEveryStep) {
  struct Fault {
    absl::StatusOr<HttpResponse> ahead;
    const char* what;
  };
  HttpResponse expired = unified::Answer(401, "stale");
  HttpResponse corrupt = unified::Answer(200, "not gzip");
  corrupt.headers.emplace_back("content-encoding", "gzip");
  const Fault faults[] = {
      {unified::Answer(503), "5xx"},
      {expired, "expired token"},
      {absl::UnavailableError("connection reset"), "reset"},
      {absl::UnavailableError("transfer closed with bytes remaining"),
       "truncated body"},
      {corrupt, "corrupt gzip"},
  };
  for (const Fault& fault : faults) {
    ReadAhead ahead(pipeline_.get(), ctx_);
    ahead.Plan({"/p"});
    async_.Answer("/p", fault.ahead);
    http_.script.push_back(unified::Answer(200, "again"));
    absl::StatusOr<HttpResponse> r = ahead.Get("/p");
    ASSERT_THAT(r.status(), IsOk()) << fault.what;
    EXPECT_EQ(r->body, "again") << fault.what;
    EXPECT_EQ(ahead.wasted(), 1) << fault.what;
  }
  EXPECT_EQ(http_.sent.size(), 5u);
}

TEST_F(ReadAheadTest, ARateLimitAnswerAheadStopsTheIdentityForItsWait) {
  ReadAhead ahead(pipeline_.get(), ctx_);
  ahead.Plan({"/p"});
  // Gzipped as it came: the wait is read from the decoded body.
  HttpResponse limited = unified::Answer(429, Gzip("60"));
  limited.headers.emplace_back("content-encoding", "gzip");
  async_.Answer("/p", limited);
  ctx_.deadline = clock_.Now() + absl::Seconds(5);
  // The answer, as Send would have returned it; nothing is sent again.
  absl::StatusOr<HttpResponse> r = ahead.Get("/p");
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->status, 429);
  EXPECT_TRUE(http_.sent.empty());
  EXPECT_EQ(budget_->State(ctx_.budget_key)->blocked_until,
            clock_.Now() + absl::Seconds(60));
  // The next call of the identity is refused unsent.
  EXPECT_THAT(pipeline_->Get(ctx_, "/q").status(),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_TRUE(http_.sent.empty());
}

TEST_F(ReadAheadTest, AFinalRefusalAheadIsTheAnswer) {
  // A 400 (e.g. a limit too large) would not be retried: sending it again
  // would only spend the budget.
  ReadAhead ahead(pipeline_.get(), ctx_);
  ahead.Plan({"/p"});
  async_.Answer("/p", unified::Answer(400, "too large"));
  absl::StatusOr<HttpResponse> r = ahead.Get("/p");
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(http_.sent.empty());
  EXPECT_EQ(ahead.wasted(), 0);
}

TEST_F(ReadAheadTest, PagesNoLongerPlannedAreGivenUpAndCounted) {
  ReadAheadOptions options;
  options.initial_window = 3;
  ReadAhead ahead(pipeline_.get(), ctx_, options);
  ahead.Plan({"/a", "/b"});
  async_.Answer("/a", Ok("a"));
  // The listing went elsewhere: "/a" and "/b" are given up, and while "/b"
  // is still in flight it holds its place in the window.
  ahead.Plan({"/c", "/d", "/e"});
  EXPECT_THAT(async_.started,
              ElementsAre("https://api.test/a", "https://api.test/b",
                          "https://api.test/c", "https://api.test/d"));
  async_.Answer("/b", Ok("b"));
  ahead.Plan({"/c", "/d", "/e"});
  EXPECT_EQ(async_.started.size(), 5u);
  EXPECT_EQ(ahead.started(), 5);
  EXPECT_EQ(ahead.wasted(), 5);
  EXPECT_FALSE(ahead.Take("/a").has_value());
}

TEST_F(ReadAheadTest, ReadingAheadLeavesTheBudgetsReserve) {
  // 100 calls an hour, 10% kept back: with 12 left, two are read ahead.
  for (int i = 0; i < 88; ++i) {
    ASSERT_THAT(
        budget_->Acquire(ctx_.budget_key, RateClass::kNormal,
                         Priority::kInteractive, ctx_.deadline, nullptr),
        IsOk());
  }
  ReadAheadOptions options;
  options.initial_window = 8;
  ReadAhead ahead(pipeline_.get(), ctx_, options);
  ahead.Plan({"/1", "/2", "/3", "/4", "/5"});
  EXPECT_EQ(ahead.started(), 2);
  EXPECT_EQ(budget_->State(ctx_.budget_key)->remaining, 10);
  // Calls that cannot wait still have the reserve.
  EXPECT_THAT(budget_->Acquire(ctx_.budget_key, RateClass::kNormal,
                               Priority::kInteractive, ctx_.deadline, nullptr),
              IsOk());
}

TEST_F(ReadAheadTest, ATenantsListingsShareItsRoomForPagesAhead) {
  // Room for three pages over two listings of one tenant.
  ctx_.read_ahead = std::make_shared<ReadAheadAllowance>(3);
  ReadAheadOptions options;
  options.initial_window = 8;
  {
    ReadAhead first(pipeline_.get(), ctx_, options);
    ReadAhead second(pipeline_.get(), ctx_, options);
    first.Plan({"/a1", "/a2"});
    second.Plan({"/b1", "/b2", "/b3"});
    EXPECT_EQ(first.started(), 2);
    EXPECT_EQ(second.started(), 1);  // The room left.
    EXPECT_EQ(ctx_.read_ahead->left(), 0);
    // A page used gives its room back, once its answer is gone.
    async_.Answer("/a1", Ok("a1"));
    EXPECT_EQ(first.Get("/a1")->body, "a1");
    EXPECT_EQ(ctx_.read_ahead->left(), 1);
    second.Plan({"/b2", "/b3"});
    EXPECT_EQ(second.started(), 2);
    EXPECT_EQ(ctx_.read_ahead->left(), 0);
    // A page the room did not allow is read the ordinary way when needed.
    http_.script.push_back(unified::Answer(200, "b3"));
    EXPECT_EQ(second.Get("/b3")->body, "b3");
  }
  // Listings that end give back what they held, in flight or answered.
  EXPECT_EQ(ctx_.read_ahead->left(), 3);
}

TEST_F(ReadAheadTest, EndingCancelsWhatIsInFlight) {
  {
    ReadAhead ahead(pipeline_.get(), ctx_);
    ahead.Plan({"/1", "/2"});
    EXPECT_EQ(async_.held.size(), 2u);
  }
  EXPECT_TRUE(async_.held.empty());
}

}  // namespace
}  // namespace unified
