// ServerConfig::Validate (service/server_config.h): the defaults hold, each
// options struct refuses its own values out of range naming the flag, and
// the builder refuses a config made in code that does not hold, before it
// opens anything.
#include "service/server_config.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/server_builder.h"

namespace unified {
namespace {

using ::testing::HasSubstr;

TEST(ServerConfigTest, TheDefaultsHold) {
  EXPECT_TRUE(ServerConfig().Validate().ok());
}

TEST(ServerConfigTest, EachValueOutOfRangeIsRefusedByItsFlag) {
  const std::vector<std::pair<std::string, std::function<void(ServerConfig&)>>>
      cases = {
          {"--refresh_threads",
           [](ServerConfig& c) { c.accounts.refresh_threads = -1; }},
          {"--rate_limit",
           [](ServerConfig& c) { c.budget_override.limit = -1; }},
          {"--testing_rate_window",
           [](ServerConfig& c) { c.budget.window = absl::ZeroDuration(); }},
          {"--http_max_connections_per_peer",
           [](ServerConfig& c) { c.http_max_connections_per_peer = -1; }},
          {"--http_max_connections",
           [](ServerConfig& c) { c.http_max_connections = 0; }},
          {"--webhook_tick",
           [](ServerConfig& c) { c.deliverer.tick = absl::ZeroDuration(); }},
          {"--watch_poll_share",
           [](ServerConfig& c) { c.watch.poll_share = 2; }},
          {"--hook_base_url",
           [](ServerConfig& c) { c.watch.hook_base_url = "ftp://x"; }},
          {"--http_listen",
           [](ServerConfig& c) {
             c.watch.hook_base_url = "local";
             c.http_listen.clear();
           }},
          {"--workers", [](ServerConfig& c) { c.pool.threads = 0; }},
          {"--watch_heartbeat",
           [](ServerConfig& c) {
             c.serving.watch_heartbeat = absl::ZeroDuration();
           }},
      };
  for (const auto& [flag, breaks] : cases) {
    ServerConfig config;
    breaks(config);
    const absl::Status s = config.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << flag;
    EXPECT_THAT(std::string(s.message()), HasSubstr(flag));
  }
}

TEST(ServerConfigTest, TheBuilderRefusesAConfigThatDoesNotHold) {
  ServerConfig config;
  config.data_dir = "/nonexistent/never/opened";
  config.serving.tenant_max_calls = 0;
  absl::StatusOr<std::unique_ptr<DirectoryServer>> server =
      DirectoryServer::Build(config);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("call limits"));
}

}  // namespace
}  // namespace unified
