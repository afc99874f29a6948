// Hooks: registration, the hook.verify handshake, deliveries of membership
// events as form posts, and the failure policy.
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/testing/http_server.h"
#include "tests/tools/podio_sim/sim_test_util.h"

namespace unified::podio_sim::testing {
namespace {

// A local webhook receiver on a free loopback port.
class Receiver {
 public:
  explicit Receiver(int status) : status_(status) {
    http_.server().Post(
        "/hook", [this](const httplib::Request& req, httplib::Response& res) {
          absl::MutexLock lock(&mu_);
          std::map<std::string, std::string> form;
          for (const auto& [k, v] : req.params) form[k] = v;
          form["_content_type"] = req.get_header_value("Content-Type");
          received_.push_back(form);
          res.status = status_;
        });
    http_.Start();
  }
  std::string url() const { return http_.base_url() + "/hook?token=t1"; }
  std::vector<std::map<std::string, std::string>> received() {
    absl::MutexLock lock(&mu_);
    return received_;
  }

 private:
  const int status_;
  absl::Mutex mu_;
  std::vector<std::map<std::string, std::string>> received_;
  unified::testing::TestHttpServer http_;  // Last: stops before the rest goes.
};

class HooksTest : public SimTest {
 protected:
  void SetUp() override {
    SimTest::SetUp();
    token_ = AdminToken();
  }
  void Drain() { ASSERT_TRUE(sim_->hooks().WaitIdle(absl::Seconds(10))); }
  int64_t CreateHook(const std::string& url, const std::string& type) {
    HttpResponse r =
        Send("POST", absl::StrCat("/hook/space/", FirstSpace(), "/"), token_,
             absl::StrCat(R"({"url":")", url, R"(","type":")", type, R"("})"));
    EXPECT_EQ(r.status, 200) << r.body;
    return ParseJson(r.body)["hook_id"].GetInt64();
  }
  int64_t Newcomer() {
    int64_t id = 0;
    sim_->ReadDirectory([&](const Directory& d) {
      for (int64_t uid : d.FindOrg(FirstOrg())->member_order) {
        if (!d.FindOrg(FirstOrg())->members.at(uid).invited &&
            !d.FindSpace(FirstSpace())->members.count(uid)) {
          id = uid;
          break;
        }
      }
    });
    return id;
  }
  std::string token_;
};

TEST_F(HooksTest, VerifyHandshakeThenMembershipEventsInOrder) {
  Receiver receiver(200);
  const int64_t add = CreateHook(receiver.url(), "member.add");
  const int64_t change = CreateHook(receiver.url(), "role.change");
  const int64_t remove = CreateHook(receiver.url(), "member.remove");
  Drain();
  auto got = receiver.received();
  ASSERT_EQ(got.size(), 3u);
  // Each verify is a form post with type, hook_id and code; the URL's query
  // parameters travel in the body.
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(got[i]["type"], "hook.verify");
    EXPECT_EQ(got[i]["token"], "t1");
    EXPECT_EQ(got[i]["_content_type"], "application/x-www-form-urlencoded");
    const std::string hook_id = got[i]["hook_id"];
    HttpResponse bad =
        Send("POST", absl::StrCat("/hook/", hook_id, "/verify/validate"),
             token_, R"({"code":"wrong"})");
    EXPECT_EQ(bad.status, 400);
    HttpResponse ok =
        Send("POST", absl::StrCat("/hook/", hook_id, "/verify/validate"),
             token_, absl::StrCat(R"({"code":")", got[i]["code"], R"("})"));
    EXPECT_EQ(ok.status, 204) << ok.body;
  }
  rapidjson::Document list = ParseJson(
      Get(absl::StrCat("/hook/space/", FirstSpace(), "/"), token_).body);
  ASSERT_EQ(list.Size(), 3u);
  for (const auto& hook : list.GetArray()) {
    EXPECT_EQ(std::string(hook["status"].GetString()), "active");
  }

  const int64_t user = Newcomer();
  ASSERT_NE(user, 0);
  const std::string base = absl::StrCat("/space/", FirstSpace(), "/member/");
  ASSERT_EQ(Send("POST", base, token_,
                 absl::StrCat(R"({"role":"regular","users":[)", user, "]}"))
                .status,
            200);
  ASSERT_EQ(
      Send("PUT", base + absl::StrCat(user), token_, R"({"role":"admin"})")
          .status,
      204);
  ASSERT_EQ(Send("DELETE", base + absl::StrCat(user), token_).status, 204);
  Drain();
  got = receiver.received();
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[3]["type"], "member.add");
  EXPECT_EQ(got[3]["hook_id"], absl::StrCat(add));
  EXPECT_EQ(got[3]["user_id"], absl::StrCat(user));
  EXPECT_EQ(got[3]["space_id"], absl::StrCat(FirstSpace()));
  EXPECT_EQ(got[4]["type"], "role.change");
  EXPECT_EQ(got[4]["hook_id"], absl::StrCat(change));
  EXPECT_EQ(got[4]["role"], "admin");
  EXPECT_EQ(got[5]["type"], "member.remove");
  EXPECT_EQ(got[5]["hook_id"], absl::StrCat(remove));

  ASSERT_EQ(Send("DELETE", absl::StrCat("/hook/", add), token_).status, 204);
  EXPECT_EQ(Send("DELETE", absl::StrCat("/hook/", add), token_).status, 404);
}

TEST_F(HooksTest, DroppedDeliveriesAndDeactivatedHooks) {
  Receiver receiver(200);
  const int64_t hook = CreateHook(receiver.url(), "member.add");
  Drain();
  auto got = receiver.received();
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(Send("POST", absl::StrCat("/hook/", hook, "/verify/validate"),
                 token_, absl::StrCat(R"({"code":")", got[0]["code"], R"("})"))
                .status,
            204);
  // Dropping: the event is lost, the hook stays active.
  sim_->hooks().SetDropEvents(true);
  Send("POST", absl::StrCat("/space/", FirstSpace(), "/member/"), token_,
       absl::StrCat(R"({"users":[)", Newcomer(), "]}"));
  Drain();
  EXPECT_EQ(receiver.received().size(), 1u);
  EXPECT_EQ(sim_->hooks().dropped(), 1);
  EXPECT_EQ(sim_->hooks().Get(hook)->status, "active");
  sim_->hooks().SetDropEvents(false);
  Send("POST", absl::StrCat("/space/", FirstSpace(), "/member/"), token_,
       absl::StrCat(R"({"users":[)", Newcomer(), "]}"));
  Drain();
  EXPECT_EQ(receiver.received().size(), 2u);
  // Deactivated (as after failed deliveries): Podio lists it inactive.
  EXPECT_TRUE(sim_->hooks().Deactivate(hook));
  EXPECT_FALSE(sim_->hooks().Deactivate(hook + 100));
  rapidjson::Document list = ParseJson(
      Get(absl::StrCat("/hook/space/", FirstSpace(), "/"), token_).body);
  ASSERT_EQ(list.Size(), 1u);
  EXPECT_EQ(std::string(list[0]["status"].GetString()), "inactive");
}

TEST_F(HooksTest, UnverifiedHooksGetNoEvents) {
  Receiver receiver(200);
  CreateHook(receiver.url(), "member.add");
  Drain();
  const int64_t user = Newcomer();
  Send("POST", absl::StrCat("/space/", FirstSpace(), "/member/"), token_,
       absl::StrCat(R"({"users":[)", user, "]}"));
  Drain();
  EXPECT_EQ(receiver.received().size(), 1u);  // Only hook.verify.
}

TEST_F(HooksTest, FailingDeliveriesAreRetriedThenTheHookGoesInactive) {
  Receiver receiver(500);
  const int64_t hook = CreateHook(receiver.url(), "member.add");
  Drain();
  auto got = receiver.received();
  ASSERT_EQ(got.size(), 3u);  // hook.verify tried max_attempts = 3 times.
  // Validation still works with the code it was sent.
  ASSERT_EQ(Send("POST", absl::StrCat("/hook/", hook, "/verify/validate"),
                 token_, absl::StrCat(R"({"code":")", got[0]["code"], R"("})"))
                .status,
            204);
  Send("POST", absl::StrCat("/space/", FirstSpace(), "/member/"), token_,
       absl::StrCat(R"({"users":[)", Newcomer(), "]}"));
  Drain();
  EXPECT_EQ(receiver.received().size(), 6u);
  std::optional<Hook> state = sim_->hooks().Get(hook);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->status, "inactive");
  EXPECT_EQ(state->failed, 2);
}

TEST_F(HooksTest, RefusesBadHooksAndNonAdmins) {
  const std::string path = absl::StrCat("/hook/space/", FirstSpace(), "/");
  EXPECT_EQ(
      Send("POST", path, token_, R"({"url":"ftp://x","type":"member.add"})")
          .status,
      400);
  EXPECT_EQ(Send("POST", path, token_,
                 R"({"url":"http://127.0.0.1:1/h","type":"item.explode"})")
                .status,
            400);
  EXPECT_EQ(Send("POST", path, RegularToken(),
                 R"({"url":"http://127.0.0.1:1/h","type":"member.add"})")
                .status,
            403);
  for (int i = 0; i < 10; ++i)
    CreateHook("http://127.0.0.1:1/h", "task.create");
  EXPECT_EQ(Send("POST", path, token_,
                 R"({"url":"http://127.0.0.1:1/h","type":"task.create"})")
                .status,
            400);
}

}  // namespace
}  // namespace unified::podio_sim::testing
