#include "connectors/scim/scim_listings.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/error_details.h"
#include "connectors/common/json.h"
#include "connectors/common/status_macros.h"
#include "connectors/scim/scim_errors.h"
#include "connectors/scim/scim_mappers.h"

namespace unified::scim {
namespace {

absl::Status BadCursor() {
  return WithErrorInfo(
      absl::InvalidArgumentError("page token not issued for this listing"),
      "INVALID_CURSOR");
}

absl::Status Unexpected(const std::string& path) {
  return absl::InternalError(
      absl::StrCat("listing fed an answer it did not want: ", path));
}

absl::Status ErrorOf(const HttpResponse& answer) {
  return StatusForScimError(answer.status, answer.body,
                            answer.Header("retry-after"));
}

bool Success(const HttpResponse& answer) {
  return answer.status >= 200 && answer.status < 300;
}

template <typename T>
class ScimPager final : public Pager<T> {
 public:
  ScimPager(ScimListing<T> listing, int limit, Position at)
      : listing_(std::move(listing)),
        limit_(std::max(1, limit)),
        start_(at.start),
        skip_(at.skip),
        opened_(listing_.precondition.empty()) {}

  std::vector<std::string> Wants(int ahead) const override {
    if (done_ || loaded_) return {};
    if (!opened_) return {listing_.precondition};
    std::vector<std::string> out = {Url(start_)};
    if (ahead <= 0 || !total_ || stride_ <= 0) return out;
    for (int64_t next = start_ + stride_;
         next <= *total_ && out.size() < kMaxGuesses; next += stride_) {
      out.push_back(Url(next));
    }
    return out;
  }

  absl::Status Feed(const std::string& path, HttpResponse answer) override {
    if (!opened_) {
      if (path != listing_.precondition) return Unexpected(path);
      if (!Success(answer)) return ErrorOf(answer);
      opened_ = true;
      return absl::OkStatus();
    }
    if (loaded_ || path != Url(start_)) return Unexpected(path);
    if (!Success(answer)) return ErrorOf(answer);
    absl::StatusOr<json::Body> doc = json::ParseOwned(std::move(answer.body));
    if (!doc.ok()) {
      return WithErrorInfo(doc.status(), "UPSTREAM_MALFORMED_RESPONSE");
    }
    ASSIGN_OR_RETURN(ListPage page, ReadListPage(*doc));
    records_.clear();
    if (page.resources != nullptr) {
      for (const rapidjson::Value& resource : page.resources->GetArray()) {
        RETURN_IF_ERROR(listing_.map(resource, &records_));
      }
    }
    cursor_ = static_cast<size_t>(
        std::min<int64_t>(skip_, static_cast<int64_t>(records_.size())));
    skip_ = 0;
    const int64_t got = page.size();
    total_ = page.total_results;
    stride_ = got;
    // Resume after what this answer held: a provider may answer fewer than
    // asked (RFC 7644 §3.4.2.4), so the next start is counted, not assumed.
    next_.reset();
    if (got > 0 && start_ - 1 + got < page.total_results) {
      next_ = start_ + got;
    }
    loaded_ = true;
    return absl::OkStatus();
  }

  bool TakePage(Page<T>* page) override {
    if (done_) return false;
    if (!listing_.fill_pages) {
      if (!loaded_) return false;
      Emit(page);
      loaded_ = false;
      if (next_) start_ = *next_;
      Finish(page, !next_, Position{start_, 0});
      return true;
    }
    bool finished = false;
    while (true) {
      if (!loaded_) {
        if (Full()) break;
        return false;
      }
      while (cursor_ < records_.size() && !Full()) {
        items_.push_back(std::move(records_[cursor_++]));
      }
      if (cursor_ < records_.size()) break;  // Full inside this answer.
      loaded_ = false;
      if (!next_) {
        finished = true;
        break;
      }
      start_ = *next_;
    }
    page->items = std::move(items_);
    items_.clear();
    page->total_size.reset();
    Finish(page, finished,
           Position{start_, loaded_ ? static_cast<int64_t>(cursor_) : 0});
    return true;
  }

  bool done() const override { return done_; }

 private:
  bool Full() const { return static_cast<int>(items_.size()) >= limit_; }

  std::string Url(int64_t start) const {
    std::string url = absl::StrCat(listing_.collection, "?startIndex=", start,
                                   "&count=", listing_.count);
    if (!listing_.query.empty()) absl::StrAppend(&url, "&", listing_.query);
    return url;
  }

  // The loaded answer's records as one page.
  void Emit(Page<T>* page) {
    page->items.clear();
    for (size_t i = cursor_; i < records_.size(); ++i) {
      page->items.push_back(std::move(records_[i]));
    }
    page->total_size.reset();
    if (listing_.total_counts_records && total_) page->total_size = *total_;
  }

  void Finish(Page<T>* page, bool finished, const Position& next) {
    page->next_page_token = finished ? "" : EncodePosition(listing_.kind, next);
    done_ = finished;
  }

  const ScimListing<T> listing_;
  const int limit_;
  int64_t start_;
  int64_t skip_;
  bool opened_;
  bool loaded_ = false;
  bool done_ = false;
  std::vector<T> records_;
  size_t cursor_ = 0;
  std::vector<T> items_;
  std::optional<int64_t> total_;
  int64_t stride_ = 0;
  std::optional<int64_t> next_;
};

}  // namespace

std::string EncodePosition(char kind, const Position& p) {
  return absl::StrCat(std::string(1, kind), "1:", p.start, ":", p.skip);
}

absl::StatusOr<Position> DecodePosition(char kind, const std::string& token) {
  Position p;
  if (token.empty()) return p;
  std::vector<absl::string_view> parts = absl::StrSplit(token, ':');
  if (parts.size() != 3 ||
      parts[0] != absl::StrCat(std::string(1, kind), "1") ||
      !absl::SimpleAtoi(parts[1], &p.start) ||
      !absl::SimpleAtoi(parts[2], &p.skip) || p.start < 1 || p.skip < 0) {
    return BadCursor();
  }
  return p;
}

template <typename T>
absl::StatusOr<std::unique_ptr<Pager<T>>> NewScimPager(
    ScimListing<T> listing, int limit, const std::string& token) {
  ASSIGN_OR_RETURN(Position at, DecodePosition(listing.kind, token));
  if (!token.empty()) listing.precondition.clear();
  return std::unique_ptr<Pager<T>>(
      std::make_unique<ScimPager<T>>(std::move(listing), limit, at));
}

template absl::StatusOr<std::unique_ptr<Pager<v1::User>>> NewScimPager(
    ScimListing<v1::User>, int, const std::string&);
template absl::StatusOr<std::unique_ptr<Pager<v1::Workspace>>> NewScimPager(
    ScimListing<v1::Workspace>, int, const std::string&);
template absl::StatusOr<std::unique_ptr<Pager<v1::RoleAssignment>>>
NewScimPager(ScimListing<v1::RoleAssignment>, int, const std::string&);

}  // namespace unified::scim
