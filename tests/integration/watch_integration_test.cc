// WatchDirectory end to end: a server process with its HTTP side listener
// registered as the simulator's hook target, membership changes made through
// the simulator's write routes, and watching clients. Covers hook delivery
// (order, exactly once, duplicates, forged deliveries), the reconciliation
// poll with hooks failing (deletions included), resuming, snapshots, hook
// re-creation and removal, two replicas on one PostgreSQL, and directory
// events reaching a webhook endpoint.
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "rapidjson/document.h"
#include "tests/integration/directory_env.h"
#include "tests/integration/watch_fixture.h"
#include "tests/integration/watcher.h"
#include "tests/integration/webhook_schema_check.h"
#include "tests/service/accounts/store_backends.h"
#include "tests/testing/rich_error.h"
#include "tests/testing/webhook_receiver.h"
#include "tools/podio_sim/sim_client.h"

namespace unified::testing {
namespace {

using v1::DirectoryEvent;

TEST_F(WatchTest, HookedChangesArriveInOrderExactlyOnceWithinASecond) {
  Start({"--hook_base_url=local", "--watch_poll_interval=1h"});
  size_t snap = 0;
  std::unique_ptr<Watcher> w = WatchWithSnapshot(&snap);
  std::vector<DirectoryEvent> events = w->WaitFor(snap);
  // The snapshot is the roster: every workspace, then every member with the
  // role ListUsers shows.
  std::map<std::string, std::string> first_ws;
  int workspaces_seen = 0;
  for (size_t i = 0; i + 1 < snap; ++i) {
    const DirectoryEvent& e = events[i];
    EXPECT_EQ(e.source(), DirectoryEvent::SOURCE_SNAPSHOT);
    EXPECT_TRUE(e.resume_token().empty());
    if (e.type() == DirectoryEvent::WORKSPACE_ADDED) ++workspaces_seen;
    if (e.type() == DirectoryEvent::MEMBER_ADDED &&
        e.workspace().id() == workspaces_[0]) {
      first_ws[e.user().id()] = e.role_id();
      EXPECT_FALSE(e.user().name().empty());
    }
  }
  EXPECT_EQ(workspaces_seen, static_cast<int>(workspaces_.size()));
  EXPECT_EQ(first_ws, members_);
  EXPECT_FALSE(events[snap - 1].resume_token().empty());
  // Three hooks per workspace, verified through the handshake.
  EXPECT_EQ(ActiveHooks(), 3 * static_cast<int>(workspaces_.size()));

  const std::string ws = workspaces_[0];
  const std::string user = outsiders_[0];
  const std::vector<std::pair<std::function<int()>, std::string>> steps = {
      {[&] { return AddMember(ws, user); },
       absl::StrCat("MEMBER_ADDED ", user, "@", ws, " workspace.regular<-")},
      {[&] { return SetRole(ws, user, "admin"); },
       absl::StrCat("ROLE_CHANGED ", user, "@", ws,
                    " workspace.admin<-workspace.regular")},
      {[&] { return RemoveMember(ws, user); },
       absl::StrCat("MEMBER_REMOVED ", user, "@", ws, " <-workspace.admin")},
  };
  int64_t seq = events[snap - 1].sequence();
  size_t expected = snap;
  for (size_t step = 0; step < steps.size(); ++step) {
    const auto& [change, description] = steps[step];
    ASSERT_EQ(change(), step == 0 ? 200 : 204) << description;
    WaitForDeliveries();
    const absl::Time delivered = absl::Now();
    ++expected;
    events = w->WaitFor(expected);
    ASSERT_EQ(events.size(), expected) << description;
    const DirectoryEvent& e = events.back();
    EXPECT_EQ(Describe(e), description);
    EXPECT_EQ(e.source(), DirectoryEvent::SOURCE_HOOK);
    EXPECT_EQ(e.sequence(), ++seq);
    EXPECT_FALSE(e.resume_token().empty());
    EXPECT_LE(w->ArrivalOf(expected - 1) - delivered, absl::Seconds(1))
        << description;
  }

  // Two users added back to back, the higher id first: however many reads
  // observe them, they are logged in the order the hooks announced them.
  std::string first = outsiders_[1], second = outsiders_[2];
  if (first.size() < second.size() ||
      (first.size() == second.size() && first < second)) {
    std::swap(first, second);
  }
  ASSERT_EQ(AddMember(ws, first), 200);
  ASSERT_EQ(AddMember(ws, second), 200);
  WaitForDeliveries();
  events = w->WaitFor(expected + 2);
  ASSERT_EQ(events.size(), expected + 2);
  EXPECT_THAT(Describe(events, expected),
              ::testing::ElementsAre(absl::StrCat("MEMBER_ADDED ", first, "@",
                                                  ws, " workspace.regular<-"),
                                     absl::StrCat("MEMBER_ADDED ", second, "@",
                                                  ws, " workspace.regular<-")));
  expected += 2;
  seq += 2;

  // Podio delivering again (a retry) changes nothing; forged or malformed
  // deliveries are refused without effect.
  std::vector<SimHook> hooks = SimHooks();
  const SimHook* add_hook = nullptr;
  for (const SimHook& h : hooks) {
    if (h.ref_id == ws && h.type == "member.add") add_hook = &h;
  }
  ASSERT_NE(add_hook, nullptr);
  auto post = [&](const std::string& url, const std::string& body) {
    HttpRequest r;
    r.method = "POST";
    r.url = url;
    r.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    r.body = body;
    auto answer = http_->Send(r);
    return answer.ok() ? answer->status : 0;
  };
  const std::string again =
      absl::StrCat("type=member.add&hook_id=", add_hook->id, "&space_id=", ws,
                   "&user_id=", user, "&role=regular");
  EXPECT_EQ(post(add_hook->url, again), 200);
  EXPECT_EQ(post(add_hook->url, again), 200);
  // The hook URL names its provider. The first releases' spelling still
  // delivers (hooks registered then keep working); another provider's
  // path does not.
  const size_t at = add_hook->url.find("/hooks/podio/");
  ASSERT_NE(at, std::string::npos) << add_hook->url;
  std::string legacy = add_hook->url;
  legacy.replace(at, strlen("/hooks/podio/"), "/podio/hooks/");
  EXPECT_EQ(post(legacy, again), 200);
  std::string other = add_hook->url;
  other.replace(at, strlen("/hooks/podio/"), "/hooks/scim/");
  EXPECT_EQ(post(other, again), 404);
  const std::string base =
      add_hook->url.substr(0, add_hook->url.rfind('/') + 1);
  EXPECT_EQ(post(base + "not-a-secret", again), 404);
  EXPECT_EQ(post(add_hook->url,
                 absl::StrCat("type=member.add&hook_id=", add_hook->id + 999,
                              "&space_id=", ws, "&user_id=", user)),
            403);
  EXPECT_EQ(post(add_hook->url, "type=member.add&hook_id=%zz"), 400);
  EXPECT_EQ(post(add_hook->url,
                 absl::StrCat("type=member.add&hook_id=", add_hook->id,
                              "&space_id=", workspaces_[1], "&user_id=", user)),
            403);

  // The next real change is the very next event: nothing came in between.
  ASSERT_EQ(SetRole(ws, first, "light"), 204);
  WaitForDeliveries();
  events = w->WaitFor(expected + 1);
  ASSERT_EQ(events.size(), expected + 1);
  EXPECT_EQ(Describe(events.back()),
            absl::StrCat("ROLE_CHANGED ", first, "@", ws,
                         " workspace.light<-workspace.regular"));
  EXPECT_EQ(events.back().sequence(), seq + 1);
  // /metrics counted the deliveries: Podio's stored, the forged refused.
  EXPECT_GE(env_->Metric("unified_hook_deliveries_total", {"outcome=stored"}),
            6);
  EXPECT_GE(env_->Metric("unified_hook_deliveries_total", {"outcome=refused"}),
            3);
  // No token, code or hook secret in the server's log.
  std::ifstream in(env_->log_path());
  const std::string log((std::istreambuf_iterator<char>(in)),
                        std::istreambuf_iterator<char>());
  EXPECT_FALSE(absl::StrContains(log, admin_token_));
  EXPECT_FALSE(
      absl::StrContains(log, add_hook->url.substr(add_hook->url.rfind('/'))));
}

TEST_F(WatchTest, WithHooksFailingThePollFindsTheSameChangesAndDeletions) {
  Start({"--hook_base_url=local", "--watch_poll_interval=1s"});
  size_t snap = 0;
  std::unique_ptr<Watcher> w = WatchWithSnapshot(&snap);
  ASSERT_EQ(ActiveHooks(), 3 * static_cast<int>(workspaces_.size()));
  env_->Sim("POST", "/_sim/hooks/drop?on=1");
  const double rereads = env_->Metric("unified_watch_confirming_rereads_total");
  const double logged = env_->Metric("unified_watch_events_total");
  const double polls = env_->Metric("unified_watch_poll_lag_seconds_count");
  const double polls_done = env_->Metric("unified_watch_polls_total");
  // A member one roster read leaves out (a lagging replica of Podio's) is
  // read again at once and stays: no MEMBER_REMOVED below but the leaver's.
  const std::string ws = workspaces_[0];
  ASSERT_GE(members_.size(), 2u);
  const std::string stayer = std::next(members_.rbegin())->first;
  env_->Sim("POST", absl::StrCat("/_sim/hide?user_id=", stayer, "&times=1"));
  const std::string user = outsiders_[0];
  ASSERT_EQ(AddMember(ws, user), 200);
  std::vector<DirectoryEvent> events = w->WaitFor(snap + 1);
  ASSERT_EQ(events.size(), snap + 1);
  EXPECT_EQ(Describe(events.back()), absl::StrCat("MEMBER_ADDED ", user, "@",
                                                  ws, " workspace.regular<-"));
  EXPECT_EQ(events.back().source(), DirectoryEvent::SOURCE_POLL);
  ASSERT_EQ(SetRole(ws, user, "light"), 204);
  events = w->WaitFor(snap + 2);
  ASSERT_EQ(events.size(), snap + 2);
  EXPECT_EQ(Describe(events.back()),
            absl::StrCat("ROLE_CHANGED ", user, "@", ws,
                         " workspace.light<-workspace.regular"));
  // A deletion: the user leaves the organization, so every workspace.
  std::vector<std::string> removed;
  for (const std::string& id : workspaces_) {
    if (id == ws || MembersOf(id).count(members_.rbegin()->first)) {
      removed.push_back(id);
    }
  }
  const std::string leaver = members_.rbegin()->first;  // Not the admin.
  ASSERT_EQ(Podio("DELETE", absl::StrCat("/org/", podio_sim::kFirstOrgId,
                                         "/member/", leaver)),
            204);
  // One event per workspace, and one for the organization.
  events = w->WaitFor(snap + 3 + removed.size());
  ASSERT_EQ(events.size(), snap + 3 + removed.size())
      << ::testing::PrintToString(Describe(events, snap));
  std::set<std::string> got;
  int org_events = 0;
  for (size_t i = snap + 2; i < events.size(); ++i) {
    EXPECT_EQ(events[i].user().id(), leaver);
    EXPECT_EQ(events[i].source(), DirectoryEvent::SOURCE_POLL);
    if (events[i].type() == DirectoryEvent::ORG_MEMBER_REMOVED) {
      ++org_events;
      EXPECT_EQ(events[i].organization().id(),
                absl::StrCat(podio_sim::kFirstOrgId));
      continue;
    }
    EXPECT_EQ(events[i].type(), DirectoryEvent::MEMBER_REMOVED);
    got.insert(events[i].workspace().id());
  }
  EXPECT_EQ(org_events, 1);
  EXPECT_EQ(got, std::set<std::string>(removed.begin(), removed.end()));
  for (size_t i = snap + 1; i < events.size(); ++i) {
    EXPECT_EQ(events[i].sequence(), events[i - 1].sequence() + 1);
  }
  // The hooks were still active: nothing was delivered, all was found.
  EXPECT_THAT(env_->Sim("POST", "/_sim/hooks/drop?on=0"),
              ::testing::Not(::testing::HasSubstr("\"dropped\":0")));
  // What /metrics says of it: the read repeated, the events logged (at
  // least these; the snapshot's baseline logs none), and the polls run.
  EXPECT_GE(env_->Metric("unified_watch_confirming_rereads_total"),
            rereads + 1);
  EXPECT_GE(env_->Metric("unified_watch_events_total"),
            logged + static_cast<double>(events.size() - snap));
  EXPECT_GT(env_->Metric("unified_watch_poll_lag_seconds_count"), polls);
  // At least one poll found each of the three changes above.
  EXPECT_GE(env_->Metric("unified_watch_polls_total"), polls_done + 3);
}

TEST_F(WatchTest, OrganizationDeparturesInvitationsAndAcceptancesAreEvents) {
  // The departure roster syncs must not miss: a member of the organization
  // in none of its workspaces (no workspace roster shows them) is removed.
  Start({"--hook_base_url=local", "--watch_poll_interval=1s"});
  const std::string loner = Loner();
  ASSERT_FALSE(loner.empty()) << "the seeded directory has no such user";
  size_t snap = 0;
  std::unique_ptr<Watcher> w = WatchWithSnapshot(&snap);
  std::vector<DirectoryEvent> events = w->WaitFor(snap);
  // The snapshot has the organization's roster, the loner included.
  int loner_in_snapshot = 0;
  for (size_t i = 0; i < snap; ++i) {
    if (events[i].type() == DirectoryEvent::ORG_MEMBER_ADDED &&
        events[i].user().id() == loner) {
      ++loner_in_snapshot;
      EXPECT_EQ(events[i].organization().id(),
                absl::StrCat(podio_sim::kFirstOrgId));
      EXPECT_NE(events[i].status(), v1::USER_STATUS_UNSPECIFIED);
    }
  }
  EXPECT_EQ(loner_in_snapshot, 1);
  ASSERT_EQ(Podio("DELETE", absl::StrCat("/org/", podio_sim::kFirstOrgId,
                                         "/member/", loner)),
            204);
  events = w->WaitFor(snap + 1);
  ASSERT_EQ(events.size(), snap + 1);
  const DirectoryEvent removed = events.back();
  EXPECT_EQ(removed.type(), DirectoryEvent::ORG_MEMBER_REMOVED);
  EXPECT_EQ(removed.user().id(), loner);
  EXPECT_EQ(removed.organization().id(), absl::StrCat(podio_sim::kFirstOrgId));
  EXPECT_FALSE(removed.organization().name().empty());
  EXPECT_THAT(removed.previous_role_id(),
              ::testing::StartsWith("organization."));
  EXPECT_NE(removed.previous_status(), v1::USER_STATUS_UNSPECIFIED);
  EXPECT_EQ(removed.source(), DirectoryEvent::SOURCE_POLL);
  EXPECT_EQ(removed.sequence(), events[snap - 1].sequence() + 1);
  // Exactly once: with hooks dropped, the next change can only be found by
  // a later poll, which read the organization's roster again before the
  // workspace's; it is the very next event.
  env_->Sim("POST", "/_sim/hooks/drop?on=1");
  const std::string ws = workspaces_[0];
  const std::string joiner =
      outsiders_[0] == loner ? outsiders_[1] : outsiders_[0];
  ASSERT_EQ(AddMember(ws, joiner), 200);
  events = w->WaitFor(snap + 2);
  ASSERT_EQ(events.size(), snap + 2);
  EXPECT_EQ(Describe(events.back()), absl::StrCat("MEMBER_ADDED ", joiner, "@",
                                                  ws, " workspace.regular<-"));
  EXPECT_EQ(events.back().source(), DirectoryEvent::SOURCE_POLL);
  EXPECT_EQ(events.back().sequence(), removed.sequence() + 1);

  // Invited back, then accepting: a pending member, then a status change.
  const std::string who =
      absl::StrCat("org_id=", podio_sim::kFirstOrgId, "&user_id=", loner);
  env_->Sim("POST", "/_sim/invitations?" + who);
  events = w->WaitFor(snap + 3);
  ASSERT_EQ(events.size(), snap + 3);
  EXPECT_EQ(events.back().type(), DirectoryEvent::ORG_MEMBER_ADDED);
  EXPECT_EQ(events.back().user().id(), loner);
  EXPECT_EQ(events.back().status(), v1::USER_STATUS_INVITED);
  env_->Sim("POST", "/_sim/invitations/accept?" + who);
  events = w->WaitFor(snap + 4);
  ASSERT_EQ(events.size(), snap + 4);
  const DirectoryEvent& accepted = events.back();
  EXPECT_EQ(accepted.type(), DirectoryEvent::USER_STATUS_CHANGED);
  EXPECT_EQ(accepted.user().id(), loner);
  EXPECT_EQ(accepted.organization().id(), absl::StrCat(podio_sim::kFirstOrgId));
  EXPECT_EQ(accepted.previous_status(), v1::USER_STATUS_INVITED);
  EXPECT_EQ(accepted.status(), v1::USER_STATUS_ACTIVE);
  EXPECT_EQ(accepted.sequence(), removed.sequence() + 3);
}

TEST_F(WatchTest, MembershipWebhooksNameTheUserAndFollowTheSchema) {
  Start({"--hook_base_url=local", "--watch_poll_interval=1h",
         "--webhook_allow_http_loopback", "--webhook_tick=100ms"});
  WebhookReceiver receiver;
  {
    auto stub = v1::IntegratedAccounts::NewStub(env_->channel());
    grpc::ClientContext context;
    v1::SetWebhookEndpointRequest request;
    request.set_url(receiver.url());
    request.set_secret("whsec_" + absl::Base64Escape(std::string(32, 'k')));
    v1::WebhookEndpoint endpoint;
    ASSERT_TRUE(stub->SetWebhookEndpoint(&context, request, &endpoint).ok());
  }
  size_t snap = 0;
  std::unique_ptr<Watcher> w = WatchWithSnapshot(&snap);
  // The joiner's name and primary e-mail, as the directory lists them.
  const std::string joiner = outsiders_[0];
  v1::User expected;
  {
    auto directory = v1::UserDirectory::NewStub(env_->channel());
    grpc::ClientContext context;
    v1::GetUserRequest request;
    request.set_integrated_account_id(env_->account("demo"));
    request.set_user_id(joiner);
    ASSERT_TRUE(directory->GetUser(&context, request, &expected).ok());
  }
  ASSERT_FALSE(expected.name().empty());
  ASSERT_GE(expected.emails_size(), 1);
  ASSERT_FALSE(expected.emails(0).email().empty());
  // One change at a time (each seen on the stream before the next), so
  // none is folded into another's net effect.
  ASSERT_EQ(AddMember(workspaces_[0], joiner), 200);
  ASSERT_EQ(w->WaitFor(snap + 1).size(), snap + 1);
  ASSERT_EQ(SetRole(workspaces_[0], joiner, "admin"), 204);
  ASSERT_EQ(w->WaitFor(snap + 2).size(), snap + 2);
  ASSERT_EQ(RemoveMember(workspaces_[0], joiner), 204);
  std::vector<Delivery> got = receiver.WaitFor(3);
  ASSERT_EQ(got.size(), 3u);
  std::vector<std::string> bodies;
  const std::vector<std::string> types = {"directory.member_added",
                                          "directory.role_changed",
                                          "directory.member_removed"};
  for (size_t i = 0; i < got.size(); ++i) {
    bodies.push_back(got[i].body);
    rapidjson::Document body;
    body.Parse(got[i].body.c_str());
    ASSERT_TRUE(body.IsObject()) << got[i].body;
    EXPECT_EQ(std::string(body["type"].GetString()), types[i]);
    const auto& user = body["data"]["user"];
    EXPECT_EQ(std::string(user["id"].GetString()), joiner);
    EXPECT_EQ(std::string(user["name"].GetString()), expected.name());
    // The primary e-mail, first.
    ASSERT_TRUE(user.HasMember("emails")) << got[i].body;
    EXPECT_EQ(std::string(user["emails"][0]["email"].GetString()),
              expected.emails(0).email());
  }
  EXPECT_EQ(WebhookSchemaErrors(bodies), "");
  // A member event without its user breaks the schema.
  std::string nameless = got[0].body;
  const size_t at = nameless.find(R"("user":)");
  ASSERT_NE(at, std::string::npos);
  nameless.replace(at, 7, R"("someone":)");
  EXPECT_NE(WebhookSchemaErrors({nameless}), "");
}

TEST_F(WatchTest, AResumingClientMissesNothingAndSeesNothingTwice) {
  Start({"--hook_base_url=local", "--watch_poll_interval=1h"});
  size_t snap = 0;
  std::unique_ptr<Watcher> w = WatchWithSnapshot(&snap);
  ASSERT_EQ(ActiveHooks(), 3 * static_cast<int>(workspaces_.size()));
  const std::string ws = workspaces_[0];
  ASSERT_EQ(AddMember(ws, outsiders_[0]), 200);
  WaitForDeliveries();
  std::vector<DirectoryEvent> events = w->WaitFor(snap + 1);
  ASSERT_EQ(events.size(), snap + 1);
  const DirectoryEvent last_seen = events.back();
  // An observer that stays connected paces the changes: each is logged
  // before the next is made.
  size_t observer_snap = 0;
  std::unique_ptr<Watcher> observer = WatchWithSnapshot(&observer_snap);
  w->Stop();  // The client goes away; changes go on.

  ASSERT_EQ(AddMember(ws, outsiders_[1]), 200);
  WaitForDeliveries();
  ASSERT_EQ(observer->WaitFor(observer_snap + 1).size(), observer_snap + 1);
  ASSERT_EQ(SetRole(ws, outsiders_[0], "admin"), 204);
  WaitForDeliveries();
  ASSERT_EQ(observer->WaitFor(observer_snap + 2).size(), observer_snap + 2);
  ASSERT_EQ(RemoveMember(ws, outsiders_[1]), 204);
  WaitForDeliveries();
  ASSERT_EQ(observer->WaitFor(observer_snap + 3).size(), observer_snap + 3);

  // The resumed stream continues right after the last event seen.
  Watcher resumed(env_->channel(), Request(false, last_seen.resume_token()));
  events = resumed.WaitFor(3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_THAT(Describe(events),
              ::testing::ElementsAre(
                  absl::StrCat("MEMBER_ADDED ", outsiders_[1], "@", ws,
                               " workspace.regular<-"),
                  absl::StrCat("ROLE_CHANGED ", outsiders_[0], "@", ws,
                               " workspace.admin<-workspace.regular"),
                  absl::StrCat("MEMBER_REMOVED ", outsiders_[1], "@", ws,
                               " <-workspace.regular")));
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].sequence(), last_seen.sequence() + 1 + i);
  }
  // Resuming from the middle replays only what follows.
  Watcher middle(env_->channel(), Request(false, events[1].resume_token()));
  std::vector<DirectoryEvent> rest = middle.WaitFor(1);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].sequence(), events[2].sequence());

  // A new stream without a snapshot starts at the present: once it is
  // open, it gets the next changes and nothing logged before it.
  Watcher fresh(env_->channel(), Request());
  std::string role = "light";
  size_t seen_by_resumed = 3;
  for (int i = 0; i < 50 && fresh.WaitFor(1, absl::ZeroDuration()).empty();
       ++i) {
    ASSERT_EQ(SetRole(ws, outsiders_[0], role), 204);
    WaitForDeliveries();
    ASSERT_EQ(resumed.WaitFor(++seen_by_resumed).size(), seen_by_resumed);
    role = role == "light" ? "regular" : "light";
  }
  // (It may have taken more than one change to see it open.)
  std::vector<DirectoryEvent> live = fresh.WaitFor(1);
  ASSERT_GE(live.size(), 1u);
  EXPECT_GT(live[0].sequence(), events[2].sequence());
  ASSERT_EQ(RemoveMember(ws, outsiders_[0]), 204);
  WaitForDeliveries();
  events = resumed.WaitFor(seen_by_resumed + 1);
  ASSERT_EQ(events.size(), seen_by_resumed + 1);
  live = fresh.WaitFor(events.back().sequence() - live[0].sequence() + 1);
  EXPECT_EQ(live.back().sequence(), events.back().sequence());
  for (size_t i = 1; i < live.size(); ++i) {
    EXPECT_EQ(live[i].sequence(), live[i - 1].sequence() + 1);
  }
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_EQ(events[i].sequence(), events[i - 1].sequence() + 1);
  }

  // Tokens are bound to the tenant and the account; damaged ones are
  // refused.
  for (const std::string& bad :
       {std::string("garbage"), last_seen.resume_token() + "x"}) {
    Watcher refused(env_->channel(), Request(false, bad));
    grpc::Status s = refused.WaitDone();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(ErrorInfoOf(s).reason(), "INVALID_RESUME_TOKEN");
  }
  v1::WatchDirectoryRequest other = Request(false, last_seen.resume_token());
  other.set_integrated_account_id(env_->account("regular"));
  Watcher other_account(env_->channel(), other);
  EXPECT_EQ(other_account.WaitDone().error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  Watcher other_tenant(env_->channel(DirectoryEnv::kTenantB),
                       Request(false, last_seen.resume_token()));
  EXPECT_EQ(other_tenant.WaitDone().error_code(), grpc::StatusCode::NOT_FOUND);
  Watcher both(env_->channel(), Request(true, last_seen.resume_token()));
  EXPECT_EQ(both.WaitDone().error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(WatchTest, InactiveHooksAreRecreatedAndDeletionRemovesThem) {
  Start({"--hook_base_url=local", "--watch_poll_interval=1s",
         "--max_watch_streams=1"});
  size_t snap = 0;
  std::unique_ptr<Watcher> w = WatchWithSnapshot(&snap);
  // One stream is all this server serves at once.
  Watcher second(env_->channel(), Request());
  grpc::Status refused = second.WaitDone();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ErrorInfoOf(refused).reason(), "WATCH_STREAMS_EXHAUSTED");
  const int per_account = 3 * static_cast<int>(workspaces_.size());
  ASSERT_EQ(ActiveHooks(), per_account);
  const SimHook victim = SimHooks()[0];
  env_->Sim("POST", absl::StrCat("/_sim/hooks/deactivate?hook_id=", victim.id));
  // The next polls replace it: Podio ends with the same number of active
  // hooks, the inactive one gone.
  const absl::Time give_up = absl::Now() + kWait;
  bool replaced = false;
  while (!replaced && absl::Now() < give_up) {
    ASSERT_EQ(AddMember(workspaces_[1], outsiders_[2]), 200);  // Poll ticks.
    WaitForDeliveries();
    ASSERT_EQ(RemoveMember(workspaces_[1], outsiders_[2]), 204);
    WaitForDeliveries();
    std::vector<SimHook> hooks = SimHooks();
    int active = 0;
    bool victim_left = false;
    for (const SimHook& h : hooks) {
      active += h.status == "active";
      victim_left |= h.id == victim.id;
    }
    replaced = !victim_left && active == per_account;
  }
  EXPECT_TRUE(replaced);
  w->Stop();

  // Deleting the account removes its hooks at Podio.
  auto accounts = v1::IntegratedAccounts::NewStub(env_->channel());
  grpc::ClientContext c;
  v1::DeleteIntegratedAccountRequest del;
  del.set_integrated_account_id(env_->account("demo"));
  v1::DeleteIntegratedAccountResponse deleted;
  ASSERT_TRUE(accounts->DeleteIntegratedAccount(&c, del, &deleted).ok());
  EXPECT_TRUE(SimHooks().empty());
}

TEST_F(WatchTest, TwoReplicasOnPostgresqlDeliverTheSameSequence) {
  const std::string store = accounts::FreshStoreUrl("postgresql");
  ASSERT_FALSE(store.empty());
  Start({"--hook_base_url=local", "--watch_poll_interval=1h"}, store);
  size_t snap = 0;
  std::unique_ptr<Watcher> a = WatchWithSnapshot(&snap);
  ASSERT_EQ(ActiveHooks(), 3 * static_cast<int>(workspaces_.size()));
  ServerProcess replica =
      env_->LaunchServer({"--hook_base_url=local", "--watch_poll_interval=1h"});
  ASSERT_FALSE(replica.address.empty());
  auto channel = env_->ChannelTo(replica.address, DirectoryEnv::kTenantA);
  Watcher b(channel, Request(true));
  std::vector<DirectoryEvent> b_events = b.WaitFor(snap);
  ASSERT_EQ(b_events.size(), snap);
  EXPECT_EQ(b_events.back().type(), DirectoryEvent::SNAPSHOT_COMPLETE);
  // The replica's watch reused the stored baseline and hooks.
  EXPECT_EQ(ActiveHooks(), 3 * static_cast<int>(workspaces_.size()));

  // Each change is observed before the next is made (changes closer
  // together may be observed, and logged, as one).
  const std::string ws = workspaces_[0];
  ASSERT_EQ(AddMember(ws, outsiders_[0]), 200);
  WaitForDeliveries();
  ASSERT_EQ(a->WaitFor(snap + 1).size(), snap + 1);
  ASSERT_EQ(SetRole(ws, outsiders_[0], "admin"), 204);
  WaitForDeliveries();
  ASSERT_EQ(a->WaitFor(snap + 2).size(), snap + 2);
  std::map<std::string, std::string> second = MembersOf(workspaces_[1]);
  std::string newcomer;
  for (const std::string& u : outsiders_) {
    if (!second.count(u)) newcomer = u;
  }
  ASSERT_FALSE(newcomer.empty());
  ASSERT_EQ(AddMember(workspaces_[1], newcomer), 200);
  WaitForDeliveries();
  std::vector<DirectoryEvent> a_events = a->WaitFor(snap + 3);
  b_events = b.WaitFor(snap + 3);
  ASSERT_EQ(a_events.size(), snap + 3);
  ASSERT_EQ(b_events.size(), snap + 3);
  std::vector<std::string> a_desc, b_desc;
  for (size_t i = snap; i < snap + 3; ++i) {
    a_desc.push_back(
        absl::StrCat(a_events[i].sequence(), " ", Describe(a_events[i])));
    b_desc.push_back(
        absl::StrCat(b_events[i].sequence(), " ", Describe(b_events[i])));
  }
  EXPECT_EQ(a_desc, b_desc);
  // A token from one replica resumes on the other.
  Watcher resumed(channel, Request(false, a_events[snap].resume_token()));
  std::vector<DirectoryEvent> rest = resumed.WaitFor(2);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].sequence(), a_events[snap + 1].sequence());
  replica.process->Signal(SIGTERM);
  (void)replica.process->Wait(absl::Seconds(10));
}

TEST_F(WatchTest, TwoPollingReplicasLogAnOrganizationDepartureOnce) {
  // Both replicas poll every second and share PostgreSQL: the departure is
  // one event, with one sequence number, on both.
  const std::string store = accounts::FreshStoreUrl("postgresql");
  ASSERT_FALSE(store.empty());
  Start({"--hook_base_url=local", "--watch_poll_interval=1s"}, store);
  const std::string loner = Loner();
  ASSERT_FALSE(loner.empty());
  size_t snap = 0;
  std::unique_ptr<Watcher> a = WatchWithSnapshot(&snap);
  ServerProcess replica =
      env_->LaunchServer({"--hook_base_url=local", "--watch_poll_interval=1s"});
  ASSERT_FALSE(replica.address.empty());
  Watcher b(env_->ChannelTo(replica.address, DirectoryEnv::kTenantA),
            Request(true));
  ASSERT_EQ(b.WaitFor(snap).size(), snap);
  ASSERT_EQ(Podio("DELETE", absl::StrCat("/org/", podio_sim::kFirstOrgId,
                                         "/member/", loner)),
            204);
  // Then a change only a poll can find (hooks dropped): both replicas'
  // polls have read the organization again by the time it shows.
  std::vector<DirectoryEvent> a_events = a->WaitFor(snap + 1);
  ASSERT_EQ(a_events.size(), snap + 1);
  env_->Sim("POST", "/_sim/hooks/drop?on=1");
  const std::string joiner =
      outsiders_[0] == loner ? outsiders_[1] : outsiders_[0];
  ASSERT_EQ(AddMember(workspaces_[0], joiner), 200);
  a_events = a->WaitFor(snap + 2);
  std::vector<DirectoryEvent> b_events = b.WaitFor(snap + 2);
  ASSERT_EQ(a_events.size(), snap + 2);
  ASSERT_EQ(b_events.size(), snap + 2);
  for (const auto* events : {&a_events, &b_events}) {
    EXPECT_EQ((*events)[snap].type(), DirectoryEvent::ORG_MEMBER_REMOVED);
    EXPECT_EQ((*events)[snap].user().id(), loner);
    EXPECT_EQ((*events)[snap + 1].type(), DirectoryEvent::MEMBER_ADDED);
    EXPECT_EQ((*events)[snap + 1].user().id(), joiner);
    EXPECT_EQ((*events)[snap + 1].sequence(), (*events)[snap].sequence() + 1);
  }
  EXPECT_EQ(a_events[snap].sequence(), b_events[snap].sequence());
  replica.process->Signal(SIGTERM);
  (void)replica.process->Wait(absl::Seconds(10));
}

}  // namespace
}  // namespace unified::testing
