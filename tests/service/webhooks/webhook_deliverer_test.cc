// Webhook delivery with an injected clock against a local receiver: the
// Standard Webhooks signature, retries with exponential backoff and jitter
// under one stable id, a receiver down for a simulated day making the
// endpoint FAILING (visible by the store and as an account event), no more
// attempts then, and resuming where it stopped once the endpoint is set
// again. Also the URL rules (SSRF) and the secret's format.
#include "service/webhooks/webhook_deliverer.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/watch/watch_store.h"
#include "service/webhooks/payloads.h"
#include "tests/service/accounts/store_backends.h"
#include "tests/testing/http_server.h"
#include "tests/testing/one_shot_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/webhook_receiver.h"
#include "tools/testing/fake_clock.h"

namespace unified::webhooks {
namespace {

using ::unified::testing::FakeClock;
using ::unified::testing::IsOk;

const std::string kKey(32, 'k');

using Received = testing::Delivery;
using Receiver = testing::WebhookReceiver;

class DelivererTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto store =
        accounts::CredentialStore::OpenUrl(accounts::FreshStoreUrl(GetParam()));
    ASSERT_THAT(store, IsOk());
    accounts_ = std::move(*store);
    watch_ = std::make_unique<watch::WatchStore>(accounts_->database());
    endpoints_ = std::make_unique<WebhookStore>(accounts_->database());
    auto sealer = accounts::Sealer::Create({{"k1", std::string(32, 's')}});
    ASSERT_THAT(sealer, IsOk());
    sealer_ = std::make_unique<accounts::Sealer>(std::move(*sealer));
    http_ = NewCurlHttpClient({});
    options_.url_policy.allow_http_loopback = true;
    deliverer_ = std::make_unique<WebhookDeliverer>(
        endpoints_.get(), accounts_.get(), &watch_->events(), sealer_.get(),
        http_.get(), &clock_, options_);
  }

  void SetEndpoint(const std::string& tenant, const std::string& url) {
    auto sealed = sealer_->Seal(SecretContext(tenant),
                                "whsec_" + absl::Base64Escape(kKey));
    ASSERT_THAT(sealed, IsOk());
    ASSERT_THAT(endpoints_->Set(tenant, url, *sealed, 0, 0), IsOk());
  }
  // An account event of `tenant` (its account log).
  void Link(const std::string& tenant, const std::string& id) {
    accounts::AccountRecord r;
    r.tenant = tenant;
    r.id = id;
    r.provider = "podio";
    r.ref_type = "user";
    r.ref_id = id;
    r.created_at = clock_.Now();
    ASSERT_THAT(accounts_->Insert(r), IsOk());
  }
  Endpoint EndpointOf(const std::string& tenant) {
    auto e = endpoints_->Get(tenant);
    EXPECT_THAT(e, IsOk());
    return e.ok() && e->has_value() ? **e : Endpoint();
  }

  FakeClock clock_;
  DelivererOptions options_;
  std::unique_ptr<accounts::CredentialStore> accounts_;
  std::unique_ptr<watch::WatchStore> watch_;
  std::unique_ptr<WebhookStore> endpoints_;
  std::unique_ptr<accounts::Sealer> sealer_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<WebhookDeliverer> deliverer_;
  Receiver receiver_;
};

TEST_P(DelivererTest, FailuresAreRetriedWithBackoffUnderOneIdAndSigned) {
  SetEndpoint("t1", receiver_.url());
  Link("t1", "ia_1");
  receiver_.set_status(500);
  std::vector<absl::Duration> waits;
  for (int i = 0; i < 5; ++i) {
    deliverer_->RunOnce();
    // Not due again before its next attempt.
    deliverer_->RunOnce();
    const Endpoint e = EndpointOf("t1");
    ASSERT_EQ(e.attempts, i + 1);
    waits.push_back(e.next_attempt - clock_.Now());
    clock_.Advance(waits.back());
  }
  ASSERT_EQ(receiver_.received().size(), 5u);
  // base 5 s doubling, each times a factor in [0.5, 1].
  for (int i = 0; i < 5; ++i) {
    const absl::Duration full = options_.retry_base * (1 << i);
    EXPECT_GE(waits[i], full / 2) << i;
    EXPECT_LE(waits[i], full) << i;
  }
  receiver_.set_status(200);
  deliverer_->RunOnce();
  std::vector<Received> got = receiver_.received();
  ASSERT_EQ(got.size(), 6u);
  for (const Received& r : got) {
    EXPECT_EQ(r.id, "msg_a1");
    int64_t ts = 0;
    ASSERT_TRUE(absl::SimpleAtoi(r.timestamp, &ts));
    EXPECT_EQ(r.signature, Sign(kKey, r.id, ts, r.body));
    EXPECT_THAT(r.body, ::testing::HasSubstr(R"("type":"account.linked")"));
    EXPECT_THAT(r.body,
                ::testing::HasSubstr(R"("integrated_account_id":"ia_1")"));
  }
  const Endpoint e = EndpointOf("t1");
  EXPECT_EQ(e.status, EndpointStatus::kActive);
  EXPECT_EQ(e.attempts, 0);
  EXPECT_EQ(e.acct_seq, 1);
  // Delivered: nothing more is sent.
  deliverer_->RunOnce();
  EXPECT_EQ(receiver_.received().size(), 6u);
}

TEST_P(DelivererTest, AReceiverDownForADayMakesTheEndpointFailing) {
  SetEndpoint("t1", receiver_.url());
  Link("t1", "ia_1");
  Link("t1", "ia_2");
  receiver_.set_status(503);
  const absl::Time start = clock_.Now();
  int attempts = 0;
  while (EndpointOf("t1").status == EndpointStatus::kActive &&
         attempts < 1000) {
    deliverer_->RunOnce();
    ++attempts;
    const Endpoint e = EndpointOf("t1");
    if (e.next_attempt > clock_.Now())
      clock_.Advance(e.next_attempt - clock_.Now());
  }
  const Endpoint failing = EndpointOf("t1");
  ASSERT_EQ(failing.status, EndpointStatus::kFailing);
  EXPECT_EQ(failing.last_error, "HTTP status 503");
  EXPECT_GE(clock_.Now() - start, absl::Hours(24));
  EXPECT_LT(clock_.Now() - start, absl::Hours(26));
  // Backoff capped at an hour: tens of attempts in a day, not thousands.
  EXPECT_GT(attempts, 20);
  EXPECT_LT(attempts, 80);
  EXPECT_EQ(static_cast<int>(receiver_.received().size()), attempts);
  // The tenant's account log says so.
  auto log = accounts_->ReadAccountEvents("t1", 0, 10);
  ASSERT_THAT(log, IsOk());
  ASSERT_EQ(log->size(), 3u);
  EXPECT_EQ((*log)[2].type,
            accounts::AccountEventType::kWebhookEndpointFailing);
  EXPECT_EQ((*log)[2].reason, "HTTP status 503");
  // No attempt while failing.
  const size_t sent = receiver_.received().size();
  clock_.Advance(absl::Hours(2));
  deliverer_->RunOnce();
  EXPECT_EQ(receiver_.received().size(), sent);
  // Set again: the same event first, then the rest, in order.
  receiver_.set_status(200);
  SetEndpoint("t1", receiver_.url());
  deliverer_->RunOnce();
  std::vector<Received> got = receiver_.received();
  ASSERT_EQ(got.size(), sent + 3);
  EXPECT_EQ(got[sent].id, "msg_a1");
  EXPECT_EQ(got[sent + 1].id, "msg_a2");
  EXPECT_EQ(got[sent + 2].id, "msg_a3");
  EXPECT_THAT(got[sent + 2].body,
              ::testing::HasSubstr("account.webhook_endpoint_failing"));
}

TEST_P(DelivererTest, EachTenantGetsOnlyItsOwnEvents) {
  Receiver other;
  SetEndpoint("t1", receiver_.url());
  SetEndpoint("t2", other.url());
  Link("t1", "ia_1");
  Link("t2", "ia_2");
  Link("t3", "ia_3");  // No endpoint.
  deliverer_->RunOnce();
  ASSERT_EQ(receiver_.received().size(), 1u);
  ASSERT_EQ(other.received().size(), 1u);
  EXPECT_THAT(receiver_.received()[0].body, ::testing::HasSubstr("ia_1"));
  EXPECT_THAT(other.received()[0].body, ::testing::HasSubstr("ia_2"));
}

TEST_P(DelivererTest, DirectoryAndAccountEventsGoOutInTheOrderTheyHappened) {
  SetEndpoint("t1", receiver_.url());
  Link("t1", "ia_1");
  const watch::AccountRef a{"t1", "ia_1"};
  ASSERT_THAT(watch_->roster().Enable(a, clock_.Now()), IsOk());
  ASSERT_THAT(watch_->roster().ApplyWorkspaces(
                  a, {{"1", "One"}}, watch::Source::kPoll, clock_.Now(), true),
              IsOk());
  clock_.Advance(absl::Seconds(1));
  ASSERT_THAT(watch_->roster().ApplyMembers(
                  a, "1", {{"10", "workspace.admin", "Ann", "a@x"}},
                  watch::Source::kPoll, clock_.Now(), false),
              IsOk());
  clock_.Advance(absl::Seconds(1));
  Link("t1", "ia_2");
  deliverer_->RunOnce();
  std::vector<Received> got = receiver_.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].id, "msg_a1");
  EXPECT_EQ(got[1].id, "msg_d1");
  EXPECT_THAT(got[1].body,
              ::testing::HasSubstr(R"("type":"directory.member_added")"));
  EXPECT_THAT(got[1].body,
              ::testing::HasSubstr(R"("integrated_account_id":"ia_1")"));
  EXPECT_EQ(got[2].id, "msg_a2");
  const Endpoint e = EndpointOf("t1");
  EXPECT_EQ(e.dir_tseq, 1);
  EXPECT_EQ(e.acct_seq, 2);
}

TEST_P(DelivererTest, ARotatedSecretSignsBesideTheNewOneUntilItsOverlapEnds) {
  const std::string new_key(32, 'n');
  auto sealed = [&](const std::string& key) {
    auto s =
        sealer_->Seal(SecretContext("t1"), "whsec_" + absl::Base64Escape(key));
    EXPECT_THAT(s, IsOk());
    return s.value_or("");
  };
  ASSERT_THAT(endpoints_->Set("t1", receiver_.url(), sealed(new_key), 0, 0,
                              {sealed(kKey), clock_.Now() + absl::Hours(24)}),
              IsOk());
  Link("t1", "ia_1");
  deliverer_->RunOnce();
  ASSERT_EQ(receiver_.received().size(), 1u);
  Received r = receiver_.received()[0];
  int64_t ts = 0;
  ASSERT_TRUE(absl::SimpleAtoi(r.timestamp, &ts));
  // The new secret's signature first, then the old one's.
  EXPECT_EQ(r.signature, absl::StrCat(Sign(new_key, r.id, ts, r.body), " ",
                                      Sign(kKey, r.id, ts, r.body)));
  // Once the overlap is over, the new secret alone.
  clock_.Advance(absl::Hours(25));
  Link("t1", "ia_2");
  deliverer_->RunOnce();
  ASSERT_EQ(receiver_.received().size(), 2u);
  r = receiver_.received()[1];
  ASSERT_TRUE(absl::SimpleAtoi(r.timestamp, &ts));
  EXPECT_EQ(r.signature, Sign(new_key, r.id, ts, r.body));
}

TEST_P(DelivererTest, LastErrorSaysOnlyStatusUnreachableOrTlsFailed) {
  // A port nothing listens on, one where something not HTTP answers, TLS to
  // a plain HTTP server, and an HTTP answer: what an owner could otherwise
  // use to map internal ports reads as one of three things.
  int closed_port = 0;
  {
    unified::testing::TestHttpServer gone;
    closed_port = gone.Start();
  }
  unified::testing::OneShotServer not_http("SSH-2.0-OpenSSH_9.2\r\n");
  unified::testing::TestHttpServer plain;
  const int plain_port = plain.Start();
  ASSERT_GT(plain_port, 0);
  receiver_.set_status(503);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {absl::StrCat("http://127.0.0.1:", closed_port, "/"), "unreachable"},
      {absl::StrCat("http://127.0.0.1:", not_http.port(), "/"), "unreachable"},
      {absl::StrCat("https://127.0.0.1:", plain_port, "/"), "TLS failed"},
      {receiver_.url(), "HTTP status 503"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string tenant = absl::StrCat("t", i);
    SetEndpoint(tenant, cases[i].first);
    Link(tenant, absl::StrCat("ia_", i));
  }
  deliverer_->RunOnce();
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(EndpointOf(absl::StrCat("t", i)).last_error, cases[i].second)
        << cases[i].first;
  }
}

// Answers 200 to everything, after asking each exchange's peer check about
// a few addresses.
class PeerProbe : public HttpClient {
 public:
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    for (const char* address :
         {"8.8.8.8", "127.0.0.1", "10.1.2.3", "::ffff:127.0.0.1", "::1"}) {
      answers.emplace_back(request.allow_peer ? request.allow_peer(address)
                                              : true);
    }
    HttpResponse ok;
    ok.status = 200;
    return ok;
  }
  std::vector<bool> answers;
};

TEST_P(DelivererTest, TheAddressConnectedToIsCheckedAgain) {
  // The URL passes its check (a public literal); the client is then told to
  // refuse any connect to an internal address, which is where a name that
  // resolves elsewhere a moment later (DNS rebinding) would go.
  PeerProbe probe;
  DelivererOptions strict;
  WebhookDeliverer deliverer(endpoints_.get(), accounts_.get(),
                             &watch_->events(), sealer_.get(), &probe, &clock_,
                             strict);
  SetEndpoint("t1", "https://8.8.8.8/hook");
  Link("t1", "ia_1");
  deliverer.RunOnce();
  EXPECT_THAT(probe.answers,
              ::testing::ElementsAre(true, false, false, false, false));
  EXPECT_EQ(EndpointOf("t1").acct_seq, 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, DelivererTest,
                         ::testing::Values("sqlite", "postgresql"));

TEST(WebhookUrlTest, OnlyPublicHttpsUnlessAllowed) {
  auto reason = [](const std::string& url, UrlPolicy policy = {}) {
    absl::Status s = CheckWebhookUrl(url, policy);
    std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(s);
    return s.ok() ? std::string("OK")
                  : absl::StrCat(absl::StatusCodeToString(s.code()), " ",
                                 info ? info->reason() : "");
  };
  const std::string refused = "INVALID_ARGUMENT INVALID_WEBHOOK_URL";
  EXPECT_EQ(reason("ftp://1.1.1.1/x"), refused);
  EXPECT_EQ(reason("https://user:pw@1.1.1.1/x"), refused);
  EXPECT_EQ(reason("https://10.1.2.3/x"), refused);
  EXPECT_EQ(reason("https://192.168.0.1/x"), refused);
  EXPECT_EQ(reason("https://169.254.169.254/latest"), refused);
  EXPECT_EQ(reason("https://[::1]/x"), refused);
  EXPECT_EQ(reason("https://[fd00::1]/x"), refused);
  EXPECT_EQ(reason("https://[::ffff:10.0.0.1]/x"), refused);
  EXPECT_EQ(reason("https://127.0.0.1:8443/x"), refused);
  EXPECT_EQ(reason("http://1.1.1.1/x"), refused);  // Not https.
  EXPECT_EQ(reason("https://1.1.1.1:99999/x"), refused);
  EXPECT_EQ(reason("https://1.1.1.1/x"), "OK");
  EXPECT_EQ(reason("https://[2606:4700::1111]/x"), "OK");
  UrlPolicy loopback;
  loopback.allow_http_loopback = true;
  EXPECT_EQ(reason("http://127.0.0.1:8080/x", loopback), "OK");
  EXPECT_EQ(reason("http://localhost:8080/x", loopback), "OK");
  EXPECT_EQ(reason("http://10.0.0.1/x", loopback), refused);
  UrlPolicy internal;
  internal.allow_private = true;
  EXPECT_EQ(reason("https://10.1.2.3/x", internal), "OK");
  EXPECT_EQ(reason("http://10.1.2.3/x", internal), refused);  // https only.
}

TEST(WebhookSecretTest, WhsecAndBase64OfTwentyFourToSixtyFourBytes) {
  EXPECT_THAT(SecretKey("whsec_" + absl::Base64Escape(std::string(32, 'x'))),
              IsOk());
  for (const std::string& bad :
       {std::string("whsec_"), std::string("secret"),
        "whsec_" + absl::Base64Escape(std::string(16, 'x')),
        "whsec_" + absl::Base64Escape(std::string(65, 'x')),
        std::string("whsec_!!!!")}) {
    absl::Status s = SecretKey(bad).status();
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << bad;
    EXPECT_EQ(GetErrorInfo(s)->reason(), "INVALID_WEBHOOK_SECRET") << bad;
  }
}

}  // namespace
}  // namespace unified::webhooks
