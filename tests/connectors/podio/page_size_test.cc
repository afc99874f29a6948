// Per-route page sizes of the Podio connector against the simulator: the
// configured limit is what Podio is asked; a route that answers 400 to a
// limit is asked again with a smaller one, which is kept; nothing is lost or
// repeated on the way.
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/podio/podio_connector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/testing/fixed_token.h"
#include "tests/testing/status_matchers.h"
#include "tools/podio_sim/sim_client.h"
#include "tools/podio_sim/simulator.h"

namespace unified::podio {
namespace {

using ::unified::testing::FixedToken;
using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

class PageSizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    podio_sim::SimulatorOptions options;
    options.data.users = 350;
    options.data.orgs = 1;
    options.data.spaces_per_org = 1;
    options.max_limit = 100;  // Podio's maximum as some sources give it.
    auto sim = podio_sim::Simulator::Start(options);
    ASSERT_THAT(sim, IsOk());
    sim_ = std::move(*sim);
    http_ = NewCurlHttpClient({});
    auto token = podio_sim::PasswordGrantToken(*http_, sim_->base_url());
    ASSERT_THAT(token, IsOk());
    tokens_ = std::make_unique<FixedToken>(*token);
    PodioClientOptions client_options;
    client_options.api_base = sim_->base_url();
    client_ = std::make_unique<PodioClient>(http_.get(), RealClock::Get(),
                                            client_options);
    sim_->ReadDirectory([&](const podio_sim::Directory& d) {
      org_members_ = d.orgs.begin()->second.member_order.size();
    });
  }

  // Every user of the listing, page by page.
  std::vector<std::string> AllUsers(DirectoryConnector& connector) {
    std::vector<std::string> ids;
    PageRequest page;
    page.limit = 500;
    do {
      CallContext ctx;
      ctx.tokens = tokens_.get();
      ctx.deadline = absl::Now() + absl::Seconds(30);
      absl::StatusOr<Page<v1::User>> users =
          connector.ListUsers(ctx, UserFilter(), page);
      EXPECT_THAT(users, IsOk());
      if (!users.ok()) break;
      for (const v1::User& u : users->items) ids.push_back(u.id());
      page.page_token = users->next_page_token;
    } while (!page.page_token.empty());
    return ids;
  }

  // The `limit` and status of each member listing request, in order.
  std::vector<std::pair<std::string, int>> MemberRequests() {
    std::vector<std::pair<std::string, int>> out;
    for (const auto& r : sim_->request_log().Since(0)) {
      if (!absl::EndsWith(r.path, "/member/")) continue;
      const size_t at = r.query.find("limit=");
      const std::string limit =
          r.query.substr(at + 6, r.query.find('&', at) - at - 6);
      out.emplace_back(limit, r.status);
    }
    return out;
  }

  std::unique_ptr<podio_sim::Simulator> sim_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<FixedToken> tokens_;
  std::unique_ptr<PodioClient> client_;
  size_t org_members_ = 0;
};

TEST_F(PageSizeTest, A400ToTheLimitShrinksItOnceAndTheSizeIsKept) {
  std::unique_ptr<DirectoryConnector> connector =
      NewPodioConnector(client_.get());  // Asks 500 first.
  const std::vector<std::string> first = AllUsers(*connector);
  EXPECT_EQ(first.size(), org_members_);
  EXPECT_EQ(std::set<std::string>(first.begin(), first.end()).size(),
            first.size());
  const auto requests = MemberRequests();
  ASSERT_GE(requests.size(), 5u);
  EXPECT_EQ(requests[0], std::make_pair(std::string("500"), 400));
  for (size_t i = 1; i < requests.size(); ++i) {
    EXPECT_EQ(requests[i], std::make_pair(std::string("100"), 200)) << i;
  }
  // Remembered: a second listing asks 100 from the start, and sees the same.
  sim_->request_log().Clear();
  EXPECT_EQ(AllUsers(*connector), first);
  for (const auto& request : MemberRequests()) {
    EXPECT_EQ(request, std::make_pair(std::string("100"), 200));
  }
}

TEST_F(PageSizeTest, ConfiguredSizesArePerRoute) {
  PodioConnectorOptions options;
  ASSERT_THAT(ParsePageSizes("org_members=40,space_members=30", &options),
              IsOk());
  EXPECT_EQ(options.page_size[static_cast<int>(PagedRoute::kOrgMembers)], 40);
  EXPECT_EQ(options.page_size[static_cast<int>(PagedRoute::kOrgContacts)], 500);
  EXPECT_EQ(options.page_size[static_cast<int>(PagedRoute::kSpaceMembers)], 30);
  std::unique_ptr<DirectoryConnector> connector =
      NewPodioConnector(client_.get(), options);
  EXPECT_EQ(AllUsers(*connector).size(), org_members_);
  for (const auto& request : MemberRequests()) {
    EXPECT_EQ(request, std::make_pair(std::string("40"), 200));
  }
  for (const char* bad : {"org_members", "org_members=0", "members=5",
                          "space_members=x", "org_members=1000000"}) {
    EXPECT_THAT(ParsePageSizes(bad, &options),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
}

}  // namespace
}  // namespace unified::podio
