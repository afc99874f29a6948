// Every listing the Podio connector streams, read through its iterator
// (which reads pages ahead on libcurl's multi interface) from the simulator
// in this process, with one fault injected at each position of the
// listing's paged requests in turn: a 5xx, a reset connection, a 420, a 401
// and a truncated body. Whatever the fault hits (a page read ahead or the
// page being read), the records are those of a clean run of the paged List
// calls: none lost, none repeated. Where the listing cannot go on (the 420
// stops the identity longer than the call may wait), it ends with a clean
// status and resumes from the last page's token.
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/http_client.h"
#include "connectors/common/rate_budget.h"
#include "connectors/podio/pagers.h"
#include "connectors/podio/podio_client.h"
#include "connectors/podio/podio_connector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/testing/fake_clock.h"
#include "tools/testing/fixed_token.h"
#include "tests/testing/status_matchers.h"
#include "tools/podio_sim/faults.h"
#include "tools/podio_sim/sim_client.h"
#include "tools/podio_sim/simulator.h"

namespace unified {
namespace {

using ::unified::testing::FakeClock;
using ::unified::testing::IsOk;
using ::unified::testing::JumpingClock;
using ::unified::testing::ReissuedToken;

// One listing: its name, the glob of its paged requests, and a reader of
// its record ids page after page from a start token (through the iterator,
// or through the paged List call when `paged`).
struct Drained {
  std::vector<std::string> ids;
  std::string resume;  // The token after the last page read.
  absl::Status status;
  int64_t wasted = 0;
};
struct Listing {
  std::string name;
  std::string glob;
  std::function<Drained(CallContext& ctx, const std::string& start, bool paged)>
      drain;
};

template <typename T>
Drained DrainPages(PageIterator<T>& pages, std::string start) {
  Drained out;
  out.resume = std::move(start);
  Page<T> page;
  while (pages.Next(&page)) {
    for (const T& item : page.items) out.ids.push_back(item.id());
    out.resume = page.next_page_token;
    if (page.next_page_token.empty()) break;
  }
  out.status = pages.status();
  out.wasted = pages.wasted_calls();
  return out;
}

template <typename T>
using ListFn = std::function<absl::StatusOr<Page<T>>(CallContext& ctx,
                                                     const PageRequest& page)>;
template <typename T>
using IterateFn = std::function<std::unique_ptr<PageIterator<T>>(
    CallContext& ctx, const PageRequest& start)>;

template <typename T>
Listing MakeListing(std::string name, std::string glob, ListFn<T> list,
                    IterateFn<T> iterate) {
  return Listing{
      std::move(name), std::move(glob),
      [list, iterate](CallContext& ctx, const std::string& start, bool paged) {
        PageRequest request;
        request.limit = 500;
        request.page_token = start;
        if (paged) {
          PagedIterator<T> pages(
              [&](const PageRequest& page) { return list(ctx, page); },
              request);
          return DrainPages<T>(pages, start);
        }
        std::unique_ptr<PageIterator<T>> pages = iterate(ctx, request);
        return DrainPages<T>(*pages, start);
      }};
}

class IteratorFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    podio_sim::SimulatorOptions sim_options;
    sim_options.data.users = 450;
    sim_options.data.orgs = 2;
    sim_options.data.spaces_per_org = 3;
    sim_options.data.multi_org_share = 0.2;
    // With member counts: what is read ahead is bounded by them (the
    // conformance suite runs the count-less recorded shape).
    sim_options.documented_fields = true;
    // Thousands of calls, on a clock the test moves past 420s: the limits
    // under test are the injected ones.
    sim_options.rate.limit = 1000000;
    sim_options.rate.restricted_limit = 1000000;
    absl::StatusOr<std::unique_ptr<podio_sim::Simulator>> sim =
        podio_sim::Simulator::Start(sim_options);
    ASSERT_THAT(sim.status(), IsOk());
    sim_ = std::move(*sim);
    http_ = NewCurlHttpClient({});
    async_ = NewCurlMultiClient({});
    absl::StatusOr<std::string> token =
        podio_sim::PasswordGrantToken(*http_, sim_->base_url());
    ASSERT_THAT(token.status(), IsOk());
    tokens_ = std::make_unique<ReissuedToken>(*token);
    ledger_ = NewMemoryRateLedger(budget_options_);
    budget_ =
        std::make_unique<RateBudget>(ledger_.get(), &jumping_, budget_options_);
    podio::PodioClientOptions client_options;
    client_options.api_base = sim_->base_url();
    client_options.initial_backoff = absl::Milliseconds(1);
    client_options.retry_reserve = 1000;  // Every fault may be retried.
    client_ = std::make_unique<podio::PodioClient>(
        http_.get(), &jumping_, client_options, async_.get());
    // Pages of 100, so that every listing has several.
    podio::PodioConnectorOptions options;
    for (int& size : options.page_size) size = 100;
    options.ahead.initial_window = 4;
    connector_ = podio::NewPodioConnector(client_.get(), options);

    CallContext ctx = Context();
    absl::StatusOr<Page<v1::Organization>> orgs =
        connector_->ListOrganizations(ctx, PageRequest());
    ASSERT_THAT(orgs.status(), IsOk());
    ASSERT_EQ(orgs->items.size(), 2u);
    const std::string org = orgs->items[0].id();
    // The fewest member pages of 100 a listing can read: each organization's
    // first, then one for every 99 rows more (each after the first opens
    // with the last row read: connectors/common/overlap.h), to the short
    // one that ends it. (The simulator's answers carry no counts, as
    // recorded real ones: the rows are counted in its data.)
    sim_->ReadDirectory([&](const podio_sim::Directory& d) {
      for (const auto& [id, o] : d.orgs) {
        const int64_t n = static_cast<int64_t>(o.member_order.size());
        min_member_pages_[absl::StrCat(id)] = n < 100 ? 1 : (n - 100) / 99 + 2;
      }
    });
    DirectoryConnector* c = connector_.get();
    UserFilter one_org;
    one_org.organization_id = org;
    listings_ = {
        MakeListing<v1::User>(
            "users of one organization", "/org/" + org + "/member/",
            [c, one_org](CallContext& ctx, const PageRequest& page) {
              return c->ListUsers(ctx, one_org, page);
            },
            [c, one_org](CallContext& ctx, const PageRequest& start) {
              return c->IterateUsers(ctx, one_org, start);
            }),
        MakeListing<v1::User>(
            "users merged across organizations", "/org/*/member/",
            [c](CallContext& ctx, const PageRequest& page) {
              return c->ListUsers(ctx, UserFilter(), page);
            },
            [c](CallContext& ctx, const PageRequest& start) {
              return c->IterateUsers(ctx, UserFilter(), start);
            }),
        MakeListing<v1::Workspace>(
            "workspaces", "/org/*/space/",
            [c](CallContext& ctx, const PageRequest& page) {
              return c->ListWorkspaces(ctx, "", page);
            },
            [c](CallContext& ctx, const PageRequest& start) {
              return c->IterateWorkspaces(ctx, "", start);
            }),
        MakeListing<v1::RoleAssignment>(
            "role assignments", "*/member/*",
            [c](CallContext& ctx, const PageRequest& page) {
              return c->ListRoleAssignments(ctx, RoleAssignmentFilter(), page);
            },
            [c](CallContext& ctx, const PageRequest& start) {
              return c->IterateRoleAssignments(ctx, RoleAssignmentFilter(),
                                               start);
            }),
    };
  }

  CallContext Context() {
    CallContext ctx;
    // Shorter than the 420's wait: that fault cannot be waited out.
    ctx.deadline = clock_.Now() + absl::Minutes(1);
    ctx.tokens = tokens_.get();
    ctx.budget = budget_.get();
    ctx.budget_key = "podio:user:demo/client";
    ctx.priority = Priority::kBulk;
    return ctx;
  }

  // The requests of this listing's paged route since log entry `since`.
  int64_t Matching(const std::string& glob, int64_t since) {
    int64_t n = 0;
    for (const podio_sim::LoggedRequest& r : sim_->request_log().Since(since)) {
      n += podio_sim::GlobMatch(glob, r.path) ? 1 : 0;
    }
    return n;
  }

  FakeClock clock_;
  JumpingClock jumping_{&clock_};
  RateBudgetOptions budget_options_{1000000, 1000000};
  std::unique_ptr<podio_sim::Simulator> sim_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<AsyncHttpClient> async_;
  std::unique_ptr<ReissuedToken> tokens_;
  std::unique_ptr<RateLedger> ledger_;
  std::unique_ptr<RateBudget> budget_;
  std::unique_ptr<podio::PodioClient> client_;
  std::unique_ptr<DirectoryConnector> connector_;
  std::vector<Listing> listings_;
  std::map<std::string, int64_t> min_member_pages_;
};

TEST_F(IteratorFaultsTest, IteratorsReadWhatPagedCallsReadWithFewCallsWasted) {
  for (const Listing& listing : listings_) {
    CallContext ctx = Context();
    const Drained paged = listing.drain(ctx, "", /*paged=*/true);
    ASSERT_THAT(paged.status, IsOk()) << listing.name;
    ASSERT_FALSE(paged.ids.empty()) << listing.name;
    const int64_t since = sim_->request_log().next_seq();
    const Drained iterated = listing.drain(ctx, "", /*paged=*/false);
    ASSERT_THAT(iterated.status, IsOk()) << listing.name;
    EXPECT_EQ(iterated.ids, paged.ids) << listing.name;
    EXPECT_EQ(std::set<std::string>(paged.ids.begin(), paged.ids.end()).size(),
              paged.ids.size())
        << listing.name;
    // Reads past the end (or mispredicted) stay within the bound.
    EXPECT_LE(iterated.wasted, 2) << listing.name;
    EXPECT_GE(Matching(listing.glob, since), 1) << listing.name;
  }
}

TEST_F(IteratorFaultsTest, UserListingsReadEachMemberPageOnce) {
  // The paged calls of a merge re-read what the previous page left in each
  // organization's buffer; the iterator keeps the buffers, and reads ahead
  // only pages the member counts vouch for.
  int64_t all_orgs = 0;
  for (const auto& [org, pages] : min_member_pages_) all_orgs += pages;
  for (int i = 0; i < 2; ++i) {
    const Listing& listing = listings_[i];
    const std::string first_org =
        listing.glob.substr(5, listing.glob.find('/', 5) - 5);
    const int64_t minimum = i == 0 ? min_member_pages_[first_org] : all_orgs;
    CallContext ctx = Context();
    int64_t since = sim_->request_log().next_seq();
    ASSERT_THAT(listing.drain(ctx, "", /*paged=*/false).status, IsOk());
    EXPECT_EQ(Matching(listing.glob, since), minimum) << listing.name;
    since = sim_->request_log().next_seq();
    ASSERT_THAT(listing.drain(ctx, "", /*paged=*/true).status, IsOk());
    EXPECT_GE(Matching(listing.glob, since), minimum) << listing.name;
  }
}

TEST_F(IteratorFaultsTest, AFaultAtAnyPageLosesAndRepeatsNothing) {
  struct Kind {
    podio_sim::FaultKind kind;
    int status;
  };
  const Kind kinds[] = {{podio_sim::FaultKind::kStatus, 503},
                        {podio_sim::FaultKind::kReset, 0},
                        {podio_sim::FaultKind::kRateLimit, 420},
                        {podio_sim::FaultKind::kUnauthorized, 401},
                        {podio_sim::FaultKind::kTruncate, 0}};
  int stopped = 0;
  for (const Listing& listing : listings_) {
    CallContext clean_ctx = Context();
    const int64_t since = sim_->request_log().next_seq();
    const Drained clean = listing.drain(clean_ctx, "", /*paged=*/true);
    ASSERT_THAT(clean.status, IsOk()) << listing.name;
    const int64_t positions = Matching(listing.glob, since);
    ASSERT_GE(positions, 2) << listing.name;
    for (const Kind& kind : kinds) {
      for (int64_t at = 0; at < positions; ++at) {
        const std::string what = absl::StrCat(
            listing.name, ", ", podio_sim::FaultKindName(kind.kind),
            " at request ", at);
        podio_sim::FaultRule rule;
        rule.method = "GET";
        rule.path = listing.glob;
        rule.kind = kind.kind;
        rule.status = kind.status;
        rule.skip = at;
        rule.times = 1;
        sim_->faults().Clear();
        sim_->faults().Add(rule);
        std::vector<std::string> ids;
        std::string resume;
        absl::Status last;
        for (int attempt = 0; attempt < 3; ++attempt) {
          CallContext ctx = Context();
          Drained part = listing.drain(ctx, resume, /*paged=*/false);
          ids.insert(ids.end(), part.ids.begin(), part.ids.end());
          resume = part.resume;
          last = part.status;
          if (last.ok()) break;
          // Only the 420 stops a listing, and cleanly: the identity waits
          // longer than the call may (the 420 itself, or the budget's stop
          // when it hit a page read ahead), and says when to come back.
          ++stopped;
          EXPECT_EQ(kind.kind, podio_sim::FaultKind::kRateLimit) << what;
          EXPECT_EQ(last.code(), absl::StatusCode::kResourceExhausted) << what;
          ASSERT_TRUE(GetErrorInfo(last).has_value()) << what << last;
          EXPECT_THAT(GetErrorInfo(last)->reason(),
                      ::testing::AnyOf("UPSTREAM_RATE_LIMITED",
                                       "RATE_BUDGET_EXHAUSTED"))
              << what;
          clock_.Advance(absl::Seconds(301));  // The wait passes.
        }
        ASSERT_THAT(last, IsOk()) << what;
        EXPECT_EQ(ids, clean.ids) << what;
        // A 420 on a page read ahead and never used stops no listing, but
        // the identity still waits out its 5 minutes: not into the next
        // case.
        if (kind.kind == podio_sim::FaultKind::kRateLimit) {
          clock_.Advance(absl::Seconds(301));
        }
      }
    }
  }
  // The 420s that hit a page stopped their listing.
  EXPECT_GT(stopped, 0);
  EXPECT_GT(tokens_->refreshes.load(), 0);
}

}  // namespace
}  // namespace unified
