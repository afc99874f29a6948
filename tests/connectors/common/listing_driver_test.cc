// The listing driver (connectors/common/listing_driver.h) with a scripted
// pager over scripted HTTP clients: a List page reads nothing ahead; a
// stream sends what it needs now through the pipeline and starts the
// pager's guesses on the async client; the pages are the pager's either
// way; a pager's error, a transport's and a stalled pager end the listing
// with a status and stay ended.
#include "connectors/common/listing_driver.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace unified {
namespace {

using ::testing::ElementsAre;
using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

HttpResponse Ok(std::string body) {
  HttpResponse r;
  r.status = 200;
  r.body = std::move(body);
  return r;
}

// Answers "/p<i>" with body "<i>" (any other path: 404), recording paths.
class NumberedHttp final : public HttpClient {
 public:
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    sent.push_back(Path(request.url));
    return Answer(Path(request.url));
  }
  static std::string Path(const std::string& url) {
    return url.substr(std::string("https://api.test").size());
  }
  static HttpResponse Answer(const std::string& path) {
    if (path.rfind("/p", 0) != 0) {
      HttpResponse r;
      r.status = 404;
      return r;
    }
    return Ok(path.substr(2));
  }
  std::vector<std::string> sent;
};

// Answers at once, as NumberedHttp would.
class ImmediateAsync final : public AsyncHttpClient {
 public:
  void Start(HttpRequest request, Done done) override {
    started.push_back(NumberedHttp::Path(request.url));
    done(NumberedHttp::Answer(NumberedHttp::Path(request.url)));
  }
  int in_flight() const override { return 0; }
  void PollCancelled() override {}
  std::vector<std::string> started;
};

class NoProtocol final : public UpstreamProtocol {
 public:
  std::string display_name() const override { return "Test"; }
  void Authorize(const std::string&, HttpRequest&) const override {}
  bool IsExpiredToken(const HttpResponse&) const override { return false; }
  RateSignal ReadRateSignal(const HttpResponse&) const override { return {}; }
};

class NoToken final : public TokenSource {
 public:
  absl::StatusOr<std::string> AccessToken(absl::Time) override {
    return std::string("t");
  }
  absl::StatusOr<std::string> Refresh(const std::string&, absl::Time) override {
    return std::string("t");
  }
};

// Pages "/p0" ... "/p<n-1>", one record (its body) each; guesses the
// following pages. `fail_at` answers an error to that page's answer;
// `stall_at` wants nothing before that page.
class CountingPager final : public Pager<std::string> {
 public:
  explicit CountingPager(int n) : n_(n) {}
  std::vector<std::string> Wants(int ahead) const override {
    if (ready_ || next_ >= n_ || next_ == stall_at) return {};
    std::vector<std::string> out;
    for (int i = next_; i < n_ && (i == next_ || ahead > 0); ++i) {
      out.push_back(absl::StrCat("/p", i));
    }
    return out;
  }
  absl::Status Feed(const std::string& path, HttpResponse answer) override {
    if (next_ == fail_at) return absl::DataLossError("bad page");
    EXPECT_EQ(path, absl::StrCat("/p", next_));
    item_ = answer.body;
    ready_ = true;
    return absl::OkStatus();
  }
  bool TakePage(Page<std::string>* page) override {
    if (!ready_) return false;
    ready_ = false;
    page->items = {item_};
    ++next_;
    page->next_page_token = next_ < n_ ? absl::StrCat(next_) : "";
    return true;
  }
  bool done() const override { return next_ >= n_; }
  int fail_at = -1;
  int stall_at = -1;

 private:
  const int n_;
  int next_ = 0;
  bool ready_ = false;
  std::string item_;
};

class ListingDriverTest : public ::testing::Test {
 protected:
  ListingDriverTest() {
    RequestPipelineOptions options;
    options.api_base = "https://api.test";
    pipeline_ = std::make_unique<RequestPipeline>(&http_, RealClock::Get(),
                                                  &protocol_, options, &async_);
    ctx_.tokens = &tokens_;
    ctx_.deadline = absl::Now() + absl::Minutes(1);
  }
  std::vector<std::string> Drain(PageIterator<std::string>& pages) {
    std::vector<std::string> items;
    Page<std::string> page;
    while (pages.Next(&page)) {
      for (const std::string& item : page.items) items.push_back(item);
    }
    return items;
  }

  NumberedHttp http_;
  ImmediateAsync async_;
  NoProtocol protocol_;
  NoToken tokens_;
  std::unique_ptr<RequestPipeline> pipeline_;
  CallContext ctx_;
};

TEST_F(ListingDriverTest, AListPageReadsNothingAhead) {
  CountingPager pager(5);
  absl::StatusOr<Page<std::string>> page =
      ListPage(pipeline_.get(), ctx_, pager);
  ASSERT_THAT(page.status(), IsOk());
  EXPECT_THAT(page->items, ElementsAre("0"));
  EXPECT_EQ(page->next_page_token, "1");
  EXPECT_THAT(http_.sent, ElementsAre("/p0"));
  EXPECT_TRUE(async_.started.empty());
}

TEST_F(ListingDriverTest, AStreamReadsTheGuessesAheadAndYieldsThePagersPages) {
  PagerIterator<std::string> pages(pipeline_.get(), ctx_, ReadAheadOptions(),
                                   std::make_unique<CountingPager>(6));
  EXPECT_THAT(Drain(pages), ElementsAre("0", "1", "2", "3", "4", "5"));
  ASSERT_THAT(pages.status(), IsOk());
  // The first page was not read ahead: it goes the ordinary way, and the
  // window widens to every page guessed with it, which are read ahead.
  EXPECT_THAT(http_.sent, ElementsAre("/p0"));
  EXPECT_THAT(async_.started, ElementsAre("/p1", "/p2", "/p3", "/p4", "/p5"));
  EXPECT_EQ(pages.wasted_calls(), 0);
}

TEST_F(ListingDriverTest, APagersErrorEndsTheStreamAndItStaysEnded) {
  auto pager = std::make_unique<CountingPager>(4);
  pager->fail_at = 2;
  PagerIterator<std::string> pages(pipeline_.get(), ctx_, ReadAheadOptions(),
                                   std::move(pager));
  EXPECT_THAT(Drain(pages), ElementsAre("0", "1"));
  EXPECT_THAT(pages.status(), StatusIs(absl::StatusCode::kDataLoss));
  Page<std::string> page;
  EXPECT_FALSE(pages.Next(&page));
  EXPECT_THAT(pages.status(), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(ListingDriverTest, APagerThatNeitherYieldsNorWantsIsAnError) {
  CountingPager pager(4);
  pager.stall_at = 1;
  ListingFetcher fetcher(pipeline_.get(), ctx_, nullptr);
  Page<std::string> page;
  absl::Status status;
  ASSERT_TRUE(NextPageOf<std::string>(pager, fetcher, &page, &status));
  EXPECT_FALSE(NextPageOf<std::string>(pager, fetcher, &page, &status));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInternal));
}

TEST_F(ListingDriverTest, ATransportFailureEndsTheListingWithItsStatus) {
  CountingPager pager(3);
  CallContext cancelled = ctx_;
  cancelled.deadline = absl::InfinitePast();
  absl::StatusOr<Page<std::string>> page =
      ListPage(pipeline_.get(), cancelled, pager);
  EXPECT_THAT(page.status(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_TRUE(http_.sent.empty());
}

TEST_F(ListingDriverTest, AFailedOpenIsAFailedIteratorOrList) {
  std::unique_ptr<PageIterator<std::string>> pages =
      IteratePager<std::string>(pipeline_.get(), ctx_, ReadAheadOptions(),
                                absl::InvalidArgumentError("bad token"));
  Page<std::string> page;
  EXPECT_FALSE(pages->Next(&page));
  EXPECT_THAT(pages->status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ListPager<std::string>(pipeline_.get(), ctx_,
                                     absl::InvalidArgumentError("bad token"))
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace unified
