// Live reload of the API keys and the encryption key ring, by file change
// and by SIGHUP, without a restart: an added key works, a removed key fails,
// other keys' open streams go on, and a malformed file keeps the previous
// set (logged and counted).
#include <signal.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/http_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "service/accounts/sealer.h"
#include "service/core/tenants.h"
#include "tests/integration/directory_env.h"
#include "tests/testing/rich_error.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/wait_until.h"

namespace unified {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::unified::testing::DirectoryEnv;
using ::unified::testing::DirectoryEnvOptions;
using ::unified::testing::IsOk;
using ::unified::testing::ReadFile;
using ::unified::testing::StatusIs;

// Replaces `path` whole (a rename), mode 0600, as an operator's tooling would.
void Replace(const std::string& path, const std::string& text) {
  const std::string temp = path + ".new";
  ASSERT_THAT(testing::WritePrivateFile(temp, text), IsOk());
  ASSERT_EQ(std::rename(temp.c_str(), path.c_str()), 0);
}

// The API keys file `text` without the lines of `tenant`.
std::string WithoutTenant(const std::string& text, const std::string& tenant) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!line.empty() && !absl::StartsWith(line, tenant + " ")) {
      absl::StrAppend(&out, line, "\n");
    }
  }
  return out;
}

class ReloadTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& flags, int users = 20,
             std::vector<std::string> sim_flags = {}) {
    DirectoryEnvOptions options;
    options.data.users = users;
    options.extra_server_flags = flags;
    options.extra_sim_flags = std::move(sim_flags);
    env_ = std::make_unique<DirectoryEnv>(options);
    ASSERT_FALSE(env_->account("demo").empty());
  }

  grpc::Status ListAccounts(const std::string& key) {
    auto channel = testing::ApiKeyChannel(env_->server().address, key);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::ListIntegratedAccountsResponse response;
    return v1::IntegratedAccounts::NewStub(channel)->ListIntegratedAccounts(
        &context, v1::ListIntegratedAccountsRequest(), &response);
  }

  // Waits (bounded by 5 s, the reload promise) for `key` to be `accepted`.
  bool Becomes(const std::string& key, bool accepted) {
    return testing::WaitUntil(
        [&] { return ListAccounts(key).ok() == accepted; }, absl::Seconds(5),
        absl::Milliseconds(100));
  }

  grpc::Status GetMe() {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::GetMeRequest request;
    request.set_integrated_account_id(env_->account("demo"));
    v1::User me;
    return v1::UserDirectory::NewStub(env_->channel())
        ->GetMe(&context, request, &me);
  }

  std::unique_ptr<DirectoryEnv> env_;
};

TEST_F(ReloadTest, ApiKeysFollowTheFileAndAMalformedOneKeepsTheSet) {
  Start({"--config_reload_interval=200ms", "--watch_heartbeat=200ms"});
  const std::string original = ReadFile(env_->files().api_keys_file);
  const std::string key_a = env_->files().api_keys.at("tenant-a");
  const std::string key_b = env_->files().api_keys.at("tenant-b");
  const NewApiKey added = GenerateApiKey("tenant-c");
  EXPECT_THAT(ListAccounts(added.key),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));

  // tenant-b has a stream open throughout.
  auto channel_b = env_->channel("tenant-b");
  const std::string account_b =
      env_->LinkPassword("regular@example.com", "regular-password", "tenant-b");
  ASSERT_FALSE(account_b.empty());
  grpc::ClientContext watch_context;
  v1::WatchDirectoryRequest watch;
  watch.set_integrated_account_id(account_b);
  auto events = v1::UserDirectory::NewStub(channel_b)->WatchDirectory(
      &watch_context, watch);
  v1::DirectoryEvent event;
  ASSERT_TRUE(events->Read(&event));

  // Added: works within 5 s. tenant-a removed at the same time: fails.
  const std::string without_a = WithoutTenant(original, "tenant-a");
  Replace(env_->files().api_keys_file, without_a + added.line + "\n");
  EXPECT_TRUE(Becomes(added.key, true));
  EXPECT_TRUE(Becomes(key_a, false));
  EXPECT_THAT(ListAccounts(key_a), StatusIs(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_THAT(ListAccounts(key_b), IsOk());
  // tenant-b's stream goes on (its heartbeats keep coming).
  EXPECT_TRUE(events->Read(&event));

  // A malformed file: the previous set stays; the failure is logged and
  // counted.
  Replace(env_->files().api_keys_file, "tenant-d sha256:not-hex\n");
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (ReadFile(env_->log_path()).find("configuration not reloaded") ==
             std::string::npos &&
         absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  const std::string log = ReadFile(env_->log_path());
  EXPECT_THAT(log, HasSubstr("configuration not reloaded"));
  EXPECT_THAT(log, HasSubstr("\"file\":\"api_keys\""));
  EXPECT_THAT(log, Not(HasSubstr("not-hex")));  // Never the content.
  EXPECT_THAT(ListAccounts(added.key), IsOk());
  EXPECT_THAT(ListAccounts(key_b), IsOk());
  auto http = NewCurlHttpClient({});
  HttpRequest metrics;
  metrics.url =
      absl::StrCat("http://", env_->server().http_address, "/metrics");
  absl::StatusOr<HttpResponse> text = http->Send(metrics);
  ASSERT_THAT(text, IsOk());
  EXPECT_THAT(text->body,
              HasSubstr("unified_config_reloads_total{file=\"api_keys\","
                        "outcome=\"error\"}"));
  watch_context.TryCancel();
  while (events->Read(&event)) {
  }
  (void)events->Finish();
}

TEST_F(ReloadTest, ARemovedKeyEndsItsOpenStreamsAndOthersGoOn) {
  // Heartbeats far apart: tenant-a's watch sends nothing on its own, so its
  // end can only come from the removed key.
  // Member pages answer slowly (a real upstream's pace), so the listing
  // is still going when the key goes.
  Start({"--config_reload_interval=200ms", "--watch_heartbeat=1h"}, 5000,
        {R"(--faults=[{"path":"/org/*/member/*","kind":"latency",)"
         R"("latency_ms":300}])"});
  const std::string original = ReadFile(env_->files().api_keys_file);
  auto watch_of = [&](const std::string& tenant, const std::string& account,
                      grpc::ClientContext* context) {
    v1::WatchDirectoryRequest watch;
    watch.set_integrated_account_id(account);
    watch.set_include_snapshot(true);
    return v1::UserDirectory::NewStub(env_->channel(tenant))
        ->WatchDirectory(context, watch);
  };
  const std::string account_b =
      env_->LinkPassword("regular@example.com", "regular-password", "tenant-b");
  ASSERT_FALSE(account_b.empty());
  grpc::ClientContext watch_a_context, watch_b_context, list_context;
  auto watch_a = watch_of("tenant-a", env_->account("demo"), &watch_a_context);
  auto watch_b = watch_of("tenant-b", account_b, &watch_b_context);
  v1::DirectoryEvent event;
  ASSERT_TRUE(watch_a->Read(&event));  // The snapshot's first event.
  ASSERT_TRUE(watch_b->Read(&event));
  // A long listing of tenant-a, read one page and then left unread.
  v1::ListUsersRequest list;
  list.set_integrated_account_id(env_->account("demo"));
  list.set_limit(10);
  auto users = v1::UserDirectory::NewStub(env_->channel())
                   ->StreamUsers(&list_context, list);
  v1::ListUsersResponse page;
  ASSERT_TRUE(users->Read(&page));

  const std::string without_a = WithoutTenant(original, "tenant-a");
  const absl::Time removed = absl::Now();
  Replace(env_->files().api_keys_file, without_a);
  // Each of tenant-a's streams ends UNAUTHENTICATED, API_KEY_REVOKED, once
  // the client has read what was already on its way.
  int pages_after = 0;
  while (users->Read(&page)) ++pages_after;
  const grpc::Status list_end = users->Finish();
  EXPECT_EQ(list_end.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(testing::ErrorInfoOf(list_end).reason(), "API_KEY_REVOKED");
  EXPECT_LT(pages_after, 499);  // Not the whole listing.
  while (watch_a->Read(&event)) {
  }
  const grpc::Status watch_end = watch_a->Finish();
  const absl::Duration took = absl::Now() - removed;
  EXPECT_EQ(watch_end.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(testing::ErrorInfoOf(watch_end).reason(), "API_KEY_REVOKED");
  // Within the reload interval and the streams' 250 ms tick, with slack
  // for a loaded machine.
  EXPECT_LT(took, absl::Seconds(5));
  // tenant-b's stream is still open: cancelling it is what ends it.
  watch_b_context.TryCancel();
  while (watch_b->Read(&event)) {
  }
  EXPECT_EQ(watch_b->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(ReloadTest, SighupReloadsAndTheKeyRingChangesWithoutARestart) {
  // Only SIGHUP reloads here (the file check is an hour away).
  Start({"--config_reload_interval=1h"});
  const std::string keys = env_->files().keys_file;
  const std::string k1 = ReadFile(keys);
  const NewApiKey added = GenerateApiKey("tenant-c");
  Replace(env_->files().api_keys_file,
          ReadFile(env_->files().api_keys_file) + added.line + "\n");
  Replace(keys, k1 + accounts::NewKeyRingEntry("k2") + "\n");
  EXPECT_THAT(ListAccounts(added.key),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
  // Reloads are logged once applied (lines are written in batches).
  auto ring_reloads = [&] {
    const std::string log = ReadFile(env_->log_path());
    const std::string needle =
        "\"msg\":\"configuration reloaded\",\"file\":\"encryption_keys\"";
    size_t n = 0;
    for (size_t at = log.find(needle); at != std::string::npos;
         at = log.find(needle, at + 1)) {
      ++n;
    }
    return n;
  };
  auto wait_for_ring_reloads = [&](size_t n) {
    return testing::WaitUntil([&] { return ring_reloads() >= n; });
  };
  env_->server().process->Signal(SIGHUP);
  EXPECT_TRUE(Becomes(added.key, true));
  ASSERT_TRUE(wait_for_ring_reloads(1));
  // The ring is now k1, k2: a refresh seals the new tokens with k2...
  auto accounts = v1::IntegratedAccounts::NewStub(env_->channel());
  grpc::ClientContext refresh_context;
  v1::RefreshCredentialsRequest refresh;
  refresh.set_integrated_account_id(env_->account("demo"));
  v1::IntegratedAccount refreshed;
  ASSERT_THAT(
      accounts->RefreshCredentials(&refresh_context, refresh, &refreshed),
      IsOk());
  // ...so with k1 gone from the ring that account still refreshes, while
  // the regular account, sealed with k1 alone, no longer opens.
  const std::string ring = ReadFile(keys);
  Replace(keys, ring.substr(ring.find("k2:")));
  env_->server().process->Signal(SIGHUP);
  auto refresh_of = [&](const std::string& name) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::RefreshCredentialsRequest request;
    request.set_integrated_account_id(env_->account(name));
    v1::IntegratedAccount account;
    return accounts->RefreshCredentials(&context, request, &account);
  };
  // Wait for the second reload of the ring to be logged; refreshing the
  // regular account before it would re-seal it with k2.
  ASSERT_TRUE(wait_for_ring_reloads(2));
  const grpc::Status regular = refresh_of("regular");
  EXPECT_THAT(regular, StatusIs(grpc::StatusCode::DATA_LOSS));
  EXPECT_THAT(refresh_of("demo"), IsOk());
  EXPECT_THAT(GetMe(), IsOk());
}

}  // namespace
}  // namespace unified
