// Tenant-wide WatchDirectory end to end: 500 accounts of one tenant linked
// in the simulator (each a different Podio user), one stream over all of
// them, organization departures found by the reconciliation poll, and a
// client that drops the stream and resumes from the last token while
// changes go on: every account's events arrive, in its own gapless
// sequence, none missed and none twice.
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "tests/integration/directory_env.h"
#include "tests/integration/watcher.h"
#include "tests/testing/rich_error.h"
#include "tools/podio_sim/directory.h"
#include "tools/podio_sim/sim_client.h"

namespace unified::testing {
namespace {

using v1::DirectoryEvent;

constexpr int kAccounts = 500;
constexpr char kPassword[] = "every-user-password";

// "account#sequence" of an event, and its type.
std::string Key(const DirectoryEvent& e) {
  return absl::StrCat(e.integrated_account_id(), "#", e.sequence());
}

class TenantWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DirectoryEnvOptions options;
    options.data.users = 600;
    options.data.orgs = 25;
    options.data.spaces_per_org = 1;
    options.extra_sim_flags = {"--rate_limit=1000000",
                               "--rate_limit_restricted=1000000",
                               absl::StrCat("--user_password=", kPassword)};
    // The poll alone (no hooks), every 2 s per account.
    options.extra_server_flags = {"--watch_poll_interval=2s",
                                  "--watch_heartbeat=1s"};
    data_ = options.data;
    env_ = std::make_unique<DirectoryEnv>(options);
    ASSERT_FALSE(env_->account("demo").empty());
    ids_ = {env_->account("demo"), env_->account("regular")};
    // Users who are active members of an organization (so that their
    // directory can be read), linked until there are 500 accounts.
    directory_ = podio_sim::GenerateDirectory(data_);
    for (size_t i = 2; i < directory_.users.size(); ++i) {
      const podio_sim::SimUser& u = directory_.users[i];
      if (static_cast<int>(ids_.size()) == kAccounts) {
        unlinked_.insert(u.user_id);
        continue;
      }
      bool member = false;
      for (const auto& [org_id, org] : directory_.orgs) {
        member = member || directory_.IsOrgMember(org_id, u.user_id);
      }
      if (!member) continue;
      linked_.insert(u.user_id);
      ids_.push_back(env_->LinkPassword(u.mail, kPassword));
      ASSERT_FALSE(ids_.back().empty()) << u.mail;
    }
    ASSERT_EQ(static_cast<int>(ids_.size()), kAccounts);
    http_ = NewCurlHttpClient({});
    auto token = podio_sim::PasswordGrantToken(*http_, env_->sim_url());
    ASSERT_TRUE(token.ok()) << token.status();
    admin_token_ = *token;
  }

  // Removes one member of each organization of `orgs` (an unlinked one
  // where there is one), as their administrator.
  void RemoveOneMemberOfEach(const std::vector<int64_t>& orgs) {
    for (int64_t org_id : orgs) {
      const podio_sim::SimOrg& org = directory_.orgs.at(org_id);
      int64_t victim = 0;
      for (int64_t user : org.member_order) {
        if (!directory_.IsOrgMember(org_id, user) ||
            user == directory_.users[0].user_id) {
          continue;
        }
        if (victim == 0 || unlinked_.count(user)) victim = user;
        if (unlinked_.count(user)) break;
      }
      ASSERT_NE(victim, 0) << "org " << org_id;
      HttpRequest request;
      request.method = "DELETE";
      request.url =
          absl::StrCat(env_->sim_url(), "/org/", org_id, "/member/", victim);
      request.headers = {{"Authorization", "OAuth2 " + admin_token_}};
      auto r = http_->Send(request);
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_EQ(r->status / 100, 2) << r->body;
    }
  }

  v1::WatchDirectoryRequest Several(bool snapshot,
                                    const std::string& token = "") {
    v1::WatchDirectoryRequest r;
    for (const std::string& id : ids_) r.add_integrated_account_ids(id);
    r.set_include_snapshot(snapshot);
    r.set_resume_token(token);
    return r;
  }

  podio_sim::GeneratorOptions data_;
  podio_sim::Directory directory_;
  std::unique_ptr<DirectoryEnv> env_;
  std::unique_ptr<HttpClient> http_;
  std::string admin_token_;
  std::vector<std::string> ids_;
  std::set<int64_t> linked_, unlinked_;
};

// Whether every account has had a change among `before` and the events of
// a growing list (read incrementally: each call passes the whole list).
class AllAccountsSeen {
 public:
  AllAccountsSeen(size_t accounts, const std::vector<DirectoryEvent>& before)
      : accounts_(accounts) {
    for (const DirectoryEvent& e : before) Note(e);
  }
  bool operator()(const std::vector<DirectoryEvent>& events) {
    for (; next_ < events.size(); ++next_) Note(events[next_]);
    return done();
  }
  bool done() const { return seen_.size() >= accounts_; }

 private:
  void Note(const DirectoryEvent& e) {
    if (e.source() != DirectoryEvent::SOURCE_SNAPSHOT &&
        !e.integrated_account_id().empty()) {
      seen_.insert(e.integrated_account_id());
    }
  }

  const size_t accounts_;
  size_t next_ = 0;
  std::set<std::string> seen_;
};

TEST_F(TenantWatchTest, OneStreamWatchesFiveHundredAccountsAndResumesExactly) {
  std::vector<int64_t> orgs;
  for (const auto& [org_id, org] : directory_.orgs) orgs.push_back(org_id);
  std::sort(orgs.begin(), orgs.end());
  const std::vector<int64_t> first(orgs.begin(),
                                   orgs.begin() + orgs.size() / 2);
  const std::vector<int64_t> second(orgs.begin() + orgs.size() / 2, orgs.end());

  // The stream takes every account's baseline, then snapshots them all.
  auto first_stream = std::make_unique<Watcher>(env_->channel(), Several(true));
  auto snapshot_complete = [](const std::vector<DirectoryEvent>& e) {
    return !e.empty() && e.back().type() == DirectoryEvent::SNAPSHOT_COMPLETE;
  };
  std::vector<DirectoryEvent> events =
      first_stream->WaitUntil(snapshot_complete, absl::Minutes(3));
  ASSERT_FALSE(events.empty());
  ASSERT_EQ(events.back().type(), DirectoryEvent::SNAPSHOT_COMPLETE);
  const size_t snap = events.size();
  const std::string start_token = events.back().resume_token();
  std::set<std::string> in_snapshot;
  for (size_t i = 0; i + 1 < snap; ++i) {
    in_snapshot.insert(events[i].integrated_account_id());
  }
  EXPECT_EQ(in_snapshot.size(), static_cast<size_t>(kAccounts));
  // A second stream over all the tenant's accounts (the same 500), from its
  // own snapshot.
  v1::WatchDirectoryRequest all_request;
  all_request.set_all_accounts(true);
  all_request.set_include_snapshot(true);
  Watcher all_stream(env_->channel(), all_request);
  const size_t all_snap = all_stream.WaitUntil(snapshot_complete).size();
  ASSERT_EQ(all_snap, snap);

  // Half of the organizations lose a member; the client drops the stream
  // once some of the departures have arrived.
  RemoveOneMemberOfEach(first);
  events = first_stream->WaitFor(snap + 50, absl::Minutes(2));
  first_stream->Stop();
  events = first_stream->WaitFor(0);
  ASSERT_GE(events.size(), snap + 50);
  std::vector<DirectoryEvent> received;
  for (size_t i = snap; i < events.size(); ++i) {
    if (events[i].type() != DirectoryEvent::HEARTBEAT) {
      received.push_back(events[i]);
    }
  }

  // The other half, while nobody watches; then the client resumes from the
  // last event it received, until every account has had events.
  RemoveOneMemberOfEach(second);
  Watcher resumed(env_->channel(),
                  Several(false, received.back().resume_token()));
  // (The events received before count too.)
  AllAccountsSeen all_seen(kAccounts, received);
  std::vector<DirectoryEvent> after =
      resumed.WaitUntil(std::ref(all_seen), absl::Minutes(3));
  ASSERT_TRUE(all_seen.done()) << "not every account had an event";
  std::vector<DirectoryEvent> got = received;
  for (const DirectoryEvent& e : after) {
    if (e.type() != DirectoryEvent::HEARTBEAT) got.push_back(e);
  }

  // Nothing twice, and each account's sequence has no gap.
  std::set<std::string> keys;
  std::map<std::string, int64_t> last;
  for (const DirectoryEvent& e : got) {
    EXPECT_TRUE(keys.insert(Key(e)).second) << "twice: " << Key(e);
    EXPECT_EQ(e.sequence(), last[e.integrated_account_id()] + 1)
        << "gap before " << Key(e);
    last[e.integrated_account_id()] = e.sequence();
    EXPECT_FALSE(e.resume_token().empty());
  }
  EXPECT_EQ(last.size(), static_cast<size_t>(kAccounts));

  // The log read afresh from the snapshot's position holds the same events
  // in the same order; so does the stream over all accounts.
  Watcher reference(env_->channel(), Several(false, start_token));
  auto without_heartbeats = [](const std::vector<DirectoryEvent>& events) {
    std::vector<std::string> out;
    for (const DirectoryEvent& e : events) {
      if (e.type() != DirectoryEvent::HEARTBEAT) out.push_back(Key(e));
    }
    return out;
  };
  // Events past the first `skip` (a snapshot), heartbeats left out.
  auto log_of = [&](Watcher& w, size_t skip, size_t n) {
    std::vector<DirectoryEvent> e = w.WaitUntil(
        [&](const std::vector<DirectoryEvent>& e) {
          return e.size() >= skip + n &&
                 without_heartbeats(e).size() >= skip + n;
        },
        absl::Minutes(2));
    std::vector<std::string> log =
        without_heartbeats(std::vector<DirectoryEvent>(
            e.begin() + std::min(skip, e.size()), e.end()));
    if (log.size() > n) log.resize(n);
    return log;
  };
  std::vector<std::string> want;
  for (const DirectoryEvent& e : got) want.push_back(Key(e));
  EXPECT_EQ(log_of(reference, 0, want.size()), want);
  EXPECT_EQ(log_of(all_stream, all_snap, want.size()), want);
}

TEST_F(TenantWatchTest, AccountsNamedWronglyAreRefusedWithAReason) {
  auto refused = [&](v1::WatchDirectoryRequest request) {
    Watcher w(env_->channel(), request);
    return w.WaitDone();
  };
  v1::WatchDirectoryRequest both = Several(false);
  both.set_all_accounts(true);
  grpc::Status s = refused(both);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorInfoOf(s).reason(), "INVALID_WATCH_SCOPE");
  v1::WatchDirectoryRequest twice = Several(false);
  twice.add_integrated_account_ids(ids_[0]);
  EXPECT_EQ(ErrorInfoOf(refused(twice)).reason(), "INVALID_WATCH_SCOPE");
  v1::WatchDirectoryRequest too_many;
  for (int i = 0; i <= 1000; ++i) {
    too_many.add_integrated_account_ids(absl::StrCat("acct-", i));
  }
  s = refused(too_many);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorInfoOf(s).reason(), "TOO_MANY_ACCOUNTS");
  // An unknown account fails the stream, naming it.
  v1::WatchDirectoryRequest unknown;
  unknown.add_integrated_account_ids(ids_[0]);
  unknown.add_integrated_account_ids("no-such-account");
  s = refused(unknown);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("no-such-account"));
  // A token of one set of accounts does not resume another.
  Watcher two(env_->channel(), [&] {
    v1::WatchDirectoryRequest r;
    r.add_integrated_account_ids(ids_[0]);
    r.add_integrated_account_ids(ids_[1]);
    r.set_include_snapshot(true);
    return r;
  }());
  std::vector<DirectoryEvent> e =
      two.WaitUntil([](const std::vector<DirectoryEvent>& e) {
        return !e.empty() &&
               e.back().type() == DirectoryEvent::SNAPSHOT_COMPLETE;
      });
  ASSERT_FALSE(e.empty());
  v1::WatchDirectoryRequest other;
  other.set_all_accounts(true);
  other.set_resume_token(e.back().resume_token());
  s = refused(other);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorInfoOf(s).reason(), "INVALID_RESUME_TOKEN");
  // The same set in another order resumes.
  v1::WatchDirectoryRequest reordered;
  reordered.add_integrated_account_ids(ids_[1]);
  reordered.add_integrated_account_ids(ids_[0]);
  reordered.set_resume_token(e.back().resume_token());
  Watcher again(env_->channel(), reordered);
  std::vector<DirectoryEvent> beat = again.WaitFor(1);
  ASSERT_EQ(beat.size(), 1u) << again.WaitDone().error_message();
  EXPECT_EQ(beat[0].type(), DirectoryEvent::HEARTBEAT);
  EXPECT_EQ(beat[0].resume_token(), e.back().resume_token());
}

}  // namespace
}  // namespace unified::testing
