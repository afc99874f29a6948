// The connect flow (service/api/link_flow.h) over a real SQLite store, with
// two fake providers: one linked by consent (the code flow), one by a token
// form. Time is a FakeClock. Each page answer is checked the way a browser
// would take it: status, Location, headers, and what the page says.
#include "service/api/link_flow.h"

#include <map>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/accounts/sealer.h"
#include "service/link/link_store.h"
#include "tests/service/accounts/store_backends.h"
#include "tests/testing/status_matchers.h"
#include "tools/testing/fake_clock.h"

namespace unified {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

constexpr char kTenant[] = "tenant-a";
constexpr char kReturn[] = "https://app.example:8443/linked?from=crm";

// Consent: the code "good" is for user 7, "other" for user 8; any other
// code is refused.
class ConsentAuth final : public ProviderAuth {
 public:
  std::string provider() const override { return "consent"; }
  std::string client_id() const override { return "client"; }
  absl::Duration default_access_lifetime() const override {
    return absl::Hours(8);
  }
  LinkPage link_page() const override { return {"Consent Co", true, ""}; }
  absl::StatusOr<std::string> AuthorizeUrl(
      const std::string& redirect_uri,
      const std::string& state) const override {
    return absl::StrCat("https://provider.example/authorize?state=", state);
  }
  absl::StatusOr<Grant> ExchangeCode(const std::string& code,
                                     const std::string&, absl::Time) override {
    if (code != "good" && code != "other") return GrantRefused("bad code");
    Grant grant;
    grant.access_token = "access-" + code;
    grant.refresh_token = "refresh";
    grant.expires_at = absl::Now() + absl::Hours(8);
    grant.ref_type = "user";
    grant.ref_id = code == "good" ? "7" : "8";
    return grant;
  }
  absl::StatusOr<Grant> Refresh(const std::string&, absl::Time) override {
    return absl::UnimplementedError("not in this test");
  }
  absl::StatusOr<Grant> Identify(const std::string&, absl::Time) override {
    return absl::UnimplementedError("not in this test");
  }
};

// A token form: "good-token" is client 9's; any other is refused.
class TokenAuth final : public ProviderAuth {
 public:
  std::string provider() const override { return "token"; }
  std::string client_id() const override { return "customer"; }
  absl::Duration default_access_lifetime() const override {
    return absl::Hours(1);
  }
  LinkPage link_page() const override {
    return {"Token Directory", false, "Bearer token"};
  }
  absl::StatusOr<Grant> Refresh(const std::string&, absl::Time) override {
    return absl::UnimplementedError("not in this test");
  }
  absl::StatusOr<Grant> Identify(const std::string& token,
                                 absl::Time) override {
    if (token != "good-token") return CredentialsRejected("refused");
    Grant who;
    who.ref_type = "client";
    who.ref_id = "9";
    return who;
  }
};

std::string Header(const HttpAnswer& answer, const std::string& name) {
  for (const auto& [n, v] : answer.headers) {
    if (n == name) return v;
  }
  return "";
}

class LinkFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = accounts::CredentialStore::OpenUrl(
        accounts::FreshStoreUrl("sqlite"));
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
    auto sealer =
        accounts::Sealer::Create({accounts::SealKey{"k1", std::string(32, 'k')}});
    ASSERT_THAT(sealer, IsOk());
    sealer_ = std::make_unique<accounts::Sealer>(std::move(*sealer));
    accounts::AccountManagerOptions options;
    options.record_cache_ttl = absl::ZeroDuration();
    manager_ = std::make_unique<accounts::AccountManager>(
        store_.get(), sealer_.get(),
        std::map<std::string, ProviderAuth*>{{"consent", &consent_},
                                             {"token", &token_}},
        &clock_, options);
    oauth_ = std::make_unique<OAuthFlow>(
        manager_.get(), store_.get(), &signer_, &clock_,
        OAuthFlowOptions{"consent", "https://svc.example/oauth/callback",
                         absl::Minutes(10)});
    sessions_ = std::make_unique<link::LinkSessionStore>(store_->database());
    flow_ = std::make_unique<LinkFlow>(
        oauth_.get(), manager_.get(), sessions_.get(),
        LinkFlowOptions{"https://svc.example/link", {"consent", "token"}});
  }

  v1::CreateLinkSessionRequest Request() {
    v1::CreateLinkSessionRequest request;
    request.set_end_customer_id("cust-42");
    request.set_display_name("Acme <CRM>");
    request.set_return_url(kReturn);
    request.set_state("s-1");
    return request;
  }

  // A new session's link token.
  std::string Session(const v1::CreateLinkSessionRequest& request) {
    v1::CreateLinkSessionResponse response;
    EXPECT_THAT(flow_->CreateSession(kTenant, request, &response), IsOk());
    EXPECT_THAT(response.url(),
                StartsWith("https://svc.example/link?link_token=lt_"));
    return response.link_token();
  }

  // Start on the consent provider, then the provider's answer with `query`
  // (the state the flow made is added).
  HttpAnswer Consent(const std::string& token, const std::string& mode,
                     std::map<std::string, std::string> query) {
    HttpAnswer started = flow_->Start(
        {{"link_token", token}, {"mode", mode}, {"provider", "consent"}});
    EXPECT_EQ(started.status, 303);
    const std::string location = Header(started, "Location");
    EXPECT_THAT(location, StartsWith("https://provider.example/authorize"));
    const std::string state = location.substr(location.find("state=") + 6);
    query["state"] = state;
    absl::StatusOr<OAuthState> opened = oauth_->Open(state);
    EXPECT_THAT(opened, IsOk());
    return flow_->AfterConsent(query, opened.value_or(OAuthState()));
  }

  testing::FakeClock clock_{absl::Now()};
  ConsentAuth consent_;
  TokenAuth token_;
  CursorCodec signer_{std::string(32, 's')};
  std::unique_ptr<accounts::CredentialStore> store_;
  std::unique_ptr<accounts::Sealer> sealer_;
  std::unique_ptr<accounts::AccountManager> manager_;
  std::unique_ptr<OAuthFlow> oauth_;
  std::unique_ptr<link::LinkSessionStore> sessions_;
  std::unique_ptr<LinkFlow> flow_;
};

TEST_F(LinkFlowTest, CreateSessionRefusesWhatItCannotServe) {
  v1::CreateLinkSessionResponse response;
  auto refused = [&](v1::CreateLinkSessionRequest request) {
    return flow_->CreateSession(kTenant, request, &response);
  };
  v1::CreateLinkSessionRequest r = Request();
  r.clear_end_customer_id();
  EXPECT_THAT(refused(r), StatusIs(absl::StatusCode::kInvalidArgument));
  for (const char* url :
       {"http://app.example/linked", "https://app.example/#top", "ftp://x/",
        "https://user@app.example/", ""}) {
    r = Request();
    r.set_return_url(url);
    absl::Status s = refused(r);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument)) << url;
  }
  r = Request();
  r.set_return_url("http://127.0.0.1:9000/done");  // Loopback: development.
  EXPECT_THAT(refused(r), IsOk());
  r = Request();
  r.set_ttl_seconds(30);
  EXPECT_THAT(refused(r), StatusIs(absl::StatusCode::kInvalidArgument));
  r = Request();
  r.add_providers("nobody");
  EXPECT_THAT(refused(r), StatusIs(absl::StatusCode::kInvalidArgument));
  r = Request();
  r.set_integrated_account_id("ia_000000000000000000000000");
  EXPECT_THAT(refused(r), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(LinkFlowTest, ThePickerOffersTheSessionsProvidersEscapedAndGuarded) {
  const std::string token = Session(Request());
  HttpAnswer page = flow_->Show({{"link_token", token}});
  EXPECT_EQ(page.status, 200);
  EXPECT_TRUE(page.private_page);
  EXPECT_THAT(Header(page, "Content-Security-Policy"),
              HasSubstr("default-src 'self'"));
  EXPECT_THAT(Header(page, "Content-Security-Policy"),
              HasSubstr("frame-ancestors 'none'"));
  EXPECT_THAT(page.body, HasSubstr("Connect Consent Co"));
  EXPECT_THAT(page.body, HasSubstr("Connect Token Directory"));
  EXPECT_THAT(page.body, HasSubstr("Acme &lt;CRM&gt;"));
  EXPECT_THAT(page.body, Not(HasSubstr("<CRM>")));
  // Cancelling goes back with the session's state.
  EXPECT_THAT(page.body,
              HasSubstr("linked?from=crm&amp;error=cancelled&amp;state=s-1"));
}

TEST_F(LinkFlowTest, ConsentLinksOnceWithTheCustomerAndRedirectsBack) {
  const std::string token = Session(Request());
  HttpAnswer done = Consent(token, "redirect", {{"code", "good"}});
  ASSERT_EQ(done.status, 303) << done.body;
  const std::string location = Header(done, "Location");
  EXPECT_THAT(location,
              StartsWith(absl::StrCat(kReturn, "&integrated_account_id=ia_")));
  EXPECT_THAT(location, HasSubstr("&state=s-1"));
  const std::string id = location.substr(location.find("ia_"), 27);
  auto account = manager_->Get(kTenant, id);
  ASSERT_THAT(account, IsOk());
  EXPECT_EQ(account->end_customer_id, "cust-42");
  EXPECT_EQ(account->link_method, "authorization_code");
  auto listed = manager_->List(kTenant, "", 10, "cust-42");
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_THAT(manager_->List(kTenant, "", 10, "someone-else"),
              IsOk());
  EXPECT_TRUE(manager_->List(kTenant, "", 10, "someone-else")->empty());
  auto events = store_->ReadAccountEvents(kTenant, 0, 10);
  ASSERT_THAT(events, IsOk());
  ASSERT_FALSE(events->empty());
  EXPECT_EQ(events->back().type, accounts::AccountEventType::kLinked);
  EXPECT_EQ(events->back().end_customer_id, "cust-42");

  // Used: the page and a second consent both say so, and link nothing.
  HttpAnswer again = flow_->Show({{"link_token", token}});
  EXPECT_EQ(again.status, 410);
  EXPECT_THAT(again.body, HasSubstr("used already"));
  EXPECT_THAT(again.body, HasSubstr("error=link_used"));
  EXPECT_EQ(flow_->Start({{"link_token", token}, {"provider", "consent"}})
                .status,
            410);
}

TEST_F(LinkFlowTest, PopupModePostsToTheReturnOriginOnly) {
  v1::CreateLinkSessionRequest request = Request();
  request.set_state("</script><script>alert(1)</script>");
  const std::string token = Session(request);
  HttpAnswer done = Consent(token, "popup", {{"code", "good"}});
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_THAT(done.body, HasSubstr("\"origin\":\"https://app.example:8443\""));
  EXPECT_THAT(done.body, HasSubstr("\"type\":\"success\""));
  EXPECT_THAT(done.body, HasSubstr("\"integrated_account_id\":\"ia_"));
  EXPECT_THAT(done.body, HasSubstr("/link/assets/link.js"));
  // The caller's state cannot close the data block.
  EXPECT_THAT(done.body, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(done.body, HasSubstr("\\u003c/script\\u003e"));
}

TEST_F(LinkFlowTest, DeniedConsentExitsWithItsReasonAndKeepsTheLink) {
  const std::string token = Session(Request());
  HttpAnswer denied = Consent(token, "redirect", {{"error", "access_denied"}});
  ASSERT_EQ(denied.status, 303);
  EXPECT_EQ(Header(denied, "Location"),
            absl::StrCat(kReturn, "&error=access_denied&state=s-1"));
  HttpAnswer popup = Consent(token, "popup", {{"error", "access denied!"}});
  EXPECT_THAT(popup.body, HasSubstr("\"type\":\"exit\""));
  EXPECT_THAT(popup.body, HasSubstr("\"reason\":\"access_denied_\""));
  // Nothing was linked; the link still works.
  EXPECT_EQ(flow_->Show({{"link_token", token}}).status, 200);
  EXPECT_EQ(Consent(token, "redirect", {{"code", "good"}}).status, 303);
}

TEST_F(LinkFlowTest, AnExpiredOrUnknownLinkShowsItsPage) {
  const std::string token = Session(Request());
  clock_.Advance(absl::Minutes(10));
  HttpAnswer expired = flow_->Show({{"link_token", token}});
  EXPECT_EQ(expired.status, 410);
  EXPECT_THAT(expired.body, HasSubstr("expired"));
  EXPECT_THAT(expired.body, HasSubstr("error=link_expired&amp;state=s-1"));
  HttpAnswer unknown = flow_->Show({{"link_token", "lt_forged"}});
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(flow_->Show({}).status, 404);
}

TEST_F(LinkFlowTest, TheTokenFormChecksTheTokenAndLocksAfterFailures) {
  const std::string token = Session(Request());
  HttpAnswer form = flow_->Start(
      {{"link_token", token}, {"provider", "token"}, {"mode", "redirect"}});
  EXPECT_EQ(form.status, 200);
  EXPECT_THAT(form.body, HasSubstr("<label for=\"credential\">Bearer token"));
  const std::map<std::string, std::string> bad = {
      {"link_token", token}, {"provider", "token"}, {"credential", "wrong"}};
  HttpAnswer refused = flow_->SubmitToken(bad);
  EXPECT_EQ(refused.status, 422);
  EXPECT_THAT(refused.body, HasSubstr("refused this token"));
  EXPECT_THAT(refused.body, Not(HasSubstr("wrong")));  // Never echoed.
  for (int i = 1; i < LinkFlow::kMaxFailures; ++i) flow_->SubmitToken(bad);
  HttpAnswer locked = flow_->Show({{"link_token", token}});
  EXPECT_EQ(locked.status, 429);
  EXPECT_THAT(locked.body, HasSubstr("error=too_many_attempts"));

  const std::string second = Session(Request());
  HttpAnswer linked = flow_->SubmitToken(
      {{"link_token", second}, {"provider", "token"}, {"credential",
                                                        "good-token"}});
  ASSERT_EQ(linked.status, 303) << linked.body;
  const std::string location = Header(linked, "Location");
  auto account =
      manager_->Get(kTenant, location.substr(location.find("ia_"), 27));
  ASSERT_THAT(account, IsOk());
  EXPECT_EQ(account->provider, "token");
  EXPECT_EQ(account->end_customer_id, "cust-42");
  // The consent provider is no token form, and the reverse.
  EXPECT_EQ(flow_->SubmitToken({{"link_token", Session(Request())},
                                {"provider", "consent"},
                                {"credential", "good-token"}})
                .status,
            400);
}

TEST_F(LinkFlowTest, ReauthorizationKeepsTheIdAndRefusesAnotherIdentity) {
  HttpAnswer first = Consent(Session(Request()), "redirect", {{"code", "good"}});
  const std::string location = Header(first, "Location");
  const std::string id = location.substr(location.find("ia_"), 27);
  v1::CreateLinkSessionRequest request = Request();
  request.set_integrated_account_id(id);
  request.set_end_customer_id("cust-43");
  const std::string token = Session(request);
  HttpAnswer page = flow_->Show({{"link_token", token}});
  EXPECT_THAT(page.body, HasSubstr("Reconnect"));
  EXPECT_THAT(page.body, Not(HasSubstr("Token Directory")));
  // Another identity (user 8) is not this account's.
  HttpAnswer other = Consent(token, "redirect", {{"code", "other"}});
  EXPECT_EQ(other.status, 502);
  EXPECT_THAT(other.body, HasSubstr("not the one to reconnect"));
  HttpAnswer same = Consent(token, "redirect", {{"code", "good"}});
  ASSERT_EQ(same.status, 303);
  EXPECT_THAT(Header(same, "Location"), HasSubstr(id));
  EXPECT_EQ(manager_->Get(kTenant, id)->end_customer_id, "cust-43");
  auto events = store_->ReadAccountEvents(kTenant, 0, 10);
  ASSERT_THAT(events, IsOk());
  EXPECT_EQ(events->back().type, accounts::AccountEventType::kRelinked);
  EXPECT_EQ(events->back().end_customer_id, "cust-43");
}

// A connect page's state completes on its own callback only (not through
// CompleteAuthorization), and a refused try does not use it up.
TEST_F(LinkFlowTest, AConnectPageStateIsRedeemedByThePageOnly) {
  const std::string token = Session(Request());
  HttpAnswer started = flow_->Start(
      {{"link_token", token}, {"mode", "redirect"}, {"provider", "consent"}});
  const std::string location = Header(started, "Location");
  const std::string state = location.substr(location.find("state=") + 6);
  EXPECT_THAT(oauth_->Redeem(kTenant, "good", state, /*link_page=*/false),
              StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<OAuthState> opened = oauth_->Open(state);
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(flow_->AfterConsent({{"code", "good"}, {"state", state}}, *opened)
                .status,
            303);
}

TEST_F(LinkFlowTest, ASessionIsClaimedOnceUntilReleased) {
  const std::string token = Session(Request());
  const std::string hash = link::HashLinkToken(token);
  EXPECT_THAT(sessions_->Claim(hash, clock_.Now()), IsOk());
  EXPECT_THAT(sessions_->Claim(hash, clock_.Now()),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(sessions_->Release(hash), IsOk());
  EXPECT_THAT(sessions_->Claim(hash, clock_.Now()), IsOk());
  EXPECT_THAT(sessions_->Finish(hash, "ia_x"), IsOk());
  EXPECT_THAT(sessions_->Release(hash), IsOk());  // Finished: stays used.
  EXPECT_THAT(sessions_->Claim(hash, clock_.Now()),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST(LinkOriginTest, OriginsAreWrittenAsBrowsersWriteThem) {
  EXPECT_EQ(OriginOf("https://App.Example/x?y").value_or(""),
            "https://app.example");
  EXPECT_EQ(OriginOf("https://app.example:443/").value_or(""),
            "https://app.example");
  EXPECT_EQ(OriginOf("http://127.0.0.1:9000/done").value_or(""),
            "http://127.0.0.1:9000");
  EXPECT_EQ(OriginOf("http://[::1]:80/").value_or(""), "http://[::1]");
  EXPECT_EQ(LinkPageUrl("https://pub.example/oauth/callback", "http://x:1"),
            "https://pub.example/link");
  EXPECT_EQ(LinkPageUrl("https://pub.example/cb", "http://x:1"),
            "http://x:1/link");
}

}  // namespace
}  // namespace unified
