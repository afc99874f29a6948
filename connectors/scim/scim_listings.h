// The SCIM connector's listings, each one pager (connectors/common/pager.h)
// that the shared driver runs for both the paged List calls and the
// streams (docs/scim.md). Pure: the pagers name the GETs they need and read
// the answers; they never call.
//
// A listing reads a collection with startIndex and count (RFC 7644
// §3.4.2.4), resuming after what each answer held (a provider may answer
// fewer than asked). Once an answer gave totalResults, the pages after it
// are guessed, one answer's size apart, up to the total: a stream reads them
// ahead with no call past the end.
#ifndef CONNECTORS_SCIM_SCIM_LISTINGS_H_
#define CONNECTORS_SCIM_SCIM_LISTINGS_H_

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/http_client.h"
#include "connectors/common/json.h"
#include "connectors/common/overlap.h"
#include "connectors/common/pager.h"
#include "connectors/common/status_macros.h"
#include "connectors/scim/scim_mappers.h"
#include "proto/unified/v1/resources.pb.h"
#include "rapidjson/document.h"

namespace unified::scim {

// Where a listing resumes: the 1-based startIndex of the next request and
// how many records of it were already returned; and, to see the directory
// move under the listing, the last resource read before `start` and the
// total then (docs/scim.md, "Reading"). Tokens read
// "<kind>1:<start>:<skip>[:<total>:<anchor, base64url>]"; the kind binds a
// token to its listing.
struct Position {
  int64_t start = 1;
  int64_t skip = 0;
  int64_t total = -1;  // -1: unknown.
  std::string anchor;  // "": none.
  // RFC 9865 cursor pagination: the provider's cursor of the page to read
  // ("" for the first); tokens then read "<kind>2:<skip>:<cursor,
  // base64url>".
  bool by_cursor = false;
  std::string cursor;
  // Inside an answer (pages filled across answers): the resource whose
  // records `skip` counts, the last one a page returned. The records of
  // those before it are returned already, whichever of them the listing
  // keeps now.
  std::string resource;
};
std::string EncodePosition(char kind, const Position& p);
// INVALID_ARGUMENT (INVALID_CURSOR) for another listing's token.
absl::StatusOr<Position> DecodePosition(char kind, const std::string& token);

// One listing of a collection.
template <typename T>
struct ScimListing {
  char kind = 'u';
  // The collection's path, e.g. "/Users".
  std::string collection;
  // The request's query after startIndex and count (the filter, the
  // attributes), "" for none; URL-encoded.
  std::string query;
  // A GET whose 2xx must come first (e.g. that a group exists), "" for none.
  std::string precondition;
  // Reads the precondition's answer (e.g. a group's members), when set; the
  // precondition is then asked again by a pager resumed from a token.
  std::function<absl::Status(const rapidjson::Value& body)> on_precondition;
  // The records one resource makes (none, to drop it).
  std::function<absl::Status(const rapidjson::Value& resource,
                             std::vector<T>* out)>
      map;
  // Whether the provider's totalResults counts the listing's records.
  bool total_counts_records = true;
  // Whether a resource meets the listing's filter, checked here because a
  // provider may ignore it (null: every resource). One that does not is
  // dropped, and the provider's total no longer counts the listing.
  std::function<bool(const rapidjson::Value& resource)> keep;
  // The page size asked, and the limit of records a page holds.
  int count = 100;
  // Paged by the provider's cursors (RFC 9865) rather than startIndex: no
  // page is guessed ahead (each cursor comes with the page before), and
  // the provider keeps the place, so rows that move need no repair.
  bool cursor_paging = false;
  // Whether a page may end inside one answer's records (a resource making
  // several records): the token then skips those already returned. When
  // false, a page is one answer's records.
  bool fill_pages = false;
};

// OK for a 2xx answer; else its status by the connector's error table
// (scim_errors.h), Retry-After included.
absl::Status AnswerStatus(const HttpResponse& answer);

// A 2xx answer's JSON, its attribute names in the RFC's spelling
// (CanonicalizeNames); else AnswerStatus, or INTERNAL
// (UPSTREAM_MALFORMED_RESPONSE) for an unreadable body.
absl::StatusOr<json::Body> ReadAnswer(HttpResponse answer);

namespace internal {

absl::Status BadCursor();
absl::Status Unexpected(const std::string& path);

template <typename T>
class ScimPager final : public Pager<T> {
 public:
  ScimPager(ScimListing<T> listing, int limit, Position at)
      : listing_(std::move(listing)),
        limit_(std::max(1, limit)),
        start_(at.start),
        skip_(at.skip),
        opened_(listing_.precondition.empty()) {
    resume_resource_ = at.resource;
    if (at.by_cursor) page_cursor_ = at.cursor;
    if (!at.anchor.empty()) {
      // The token's start is the anchor's place: the answer opens with it.
      seen_.Add(at.anchor);
      anchor_ = at.anchor;
      anchored_ = true;
      total_ = at.total;
    }
  }

  std::vector<std::string> Wants(int ahead) const override {
    if (done_ || loaded_) return {};
    if (!opened_) return {listing_.precondition};
    std::vector<std::string> out = {Url(start_)};
    if (ahead <= 0 || !total_ || stride_ <= 0 || listing_.cursor_paging) {
      return out;
    }
    for (int64_t next = start_ + stride_;
         next <= *total_ && out.size() < kMaxGuesses; next += stride_) {
      out.push_back(Url(next));
    }
    return out;
  }

  absl::Status Feed(const std::string& path, HttpResponse answer) override {
    if (!opened_) {
      if (path != listing_.precondition) return Unexpected(path);
      RETURN_IF_ERROR(AnswerStatus(answer));
      if (listing_.on_precondition) {
        ASSIGN_OR_RETURN(json::Body body, ReadAnswer(std::move(answer)));
        RETURN_IF_ERROR(listing_.on_precondition(body));
      }
      opened_ = true;
      return absl::OkStatus();
    }
    if (loaded_ || path != Url(start_)) return Unexpected(path);
    absl::StatusOr<json::Body> doc = ReadAnswer(std::move(answer));
    RETURN_IF_ERROR(doc.status());
    ASSIGN_OR_RETURN(ListPage page, ReadListPage(*doc));
    // RFC 7644 §3.4.2: an answer's startIndex is its first record's. A
    // provider that ignores the one asked may say so.
    if (listing_.cursor_paging) return FeedCursorPage(*doc, page);
    const std::optional<int64_t> answered = json::Int64(*doc, "startIndex");
    if (page.size() > 0 && answered && *answered != start_) {
      return PagingIgnored(answered);
    }
    std::vector<std::string> ids;
    if (page.resources != nullptr) {
      for (const rapidjson::Value& resource : page.resources->GetArray()) {
        ids.push_back(json::StringOr(resource, "id"));
      }
    }
    // Each answer after the first is asked from the last record read, and
    // must hold a record read; records removed before `start` since make it
    // hold none: asked again from further back (connectors/common/
    // overlap.h).
    Placement place;
    if (anchored_) {
      place =
          PlaceAnswer(ids, seen_.Set(), start_ - 1, listing_.count, rewinding_);
    }
    if (place.rewind) {
      if (++rewinds_ > kMaxRewinds) return ListMoved(listing_.collection);
      ++rewinding_;
      start_ = place.rewind_to + 1;
      return absl::OkStatus();
    }
    rewinding_ = 0;
    // Nothing new, the directory unchanged, and the total says more
    // follows: paging that goes nowhere.
    const int64_t got = page.size();
    if (anchored_ && got > 1 && place.first_new == ids.size() && total_ &&
        *total_ == page.total_results &&
        start_ - 1 + got < page.total_results) {
      return PagingIgnored(std::nullopt);
    }
    placed_by_ = anchored_ ? anchor_ : "";
    Load(page, ids, place.first_new);
    total_ = page.total_results;
    // Resume at the last record of this answer: a provider may answer fewer
    // than asked (RFC 7644 §3.4.2.4), so the next start is counted, not
    // assumed.
    next_.reset();
    const int64_t next =
        NextAsk(start_ - 1, got, got > 0 && !ids.back().empty(), listing_.count,
                &anchored_) +
        1;
    stride_ = next - start_;
    if (got > 0 && start_ - 1 + got < page.total_results) next_ = next;
    loaded_ = true;
    return absl::OkStatus();
  }

  bool TakePage(Page<T>* page) override {
    if (done_) return false;
    if (!listing_.fill_pages) {
      if (!loaded_) return false;
      Emit(page);
      loaded_ = false;
      if (next_) Advance();
      Finish(page, !next_, After());
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
      Advance();
    }
    page->items = std::move(items_);
    items_.clear();
    page->total_size.reset();
    // Inside an answer, the token reads it again, placed by the record
    // that placed it, and skips what was returned.
    Position inside{start_, 0, total_.value_or(-1), placed_by_};
    if (cursor_ > 0) {
      // The last record returned: its resource, and how many of its
      // records went out.
      const size_t r = record_resource_[cursor_ - 1];
      inside.resource = ids_[r];
      for (size_t i = cursor_; i > 0 && record_resource_[i - 1] == r; --i) {
        ++inside.skip;
      }
    }
    inside.by_cursor = listing_.cursor_paging;
    inside.cursor = page_cursor_;
    Finish(page, finished, loaded_ ? inside : After());
    return true;
  }

  bool done() const override { return done_; }

 private:
  bool Full() const { return static_cast<int>(items_.size()) >= limit_; }

  // An answer of RFC 9865 cursor pagination: its records, all new, and the
  // cursor of the next page (`nextCursor`, absent on the last).
  absl::Status FeedCursorPage(const rapidjson::Value& doc,
                              const ListPage& page) {
    std::vector<std::string> ids;
    if (page.resources != nullptr) {
      for (const rapidjson::Value& resource : page.resources->GetArray()) {
        ids.push_back(json::StringOr(resource, "id"));
      }
    }
    Load(page, ids, 0);
    total_ = page.total_results;
    const std::string next = json::StringOr(doc, "nextCursor");
    next_cursor_ = next;
    next_.reset();
    if (!next.empty() && page.size() > 0) next_ = start_;
    loaded_ = true;
    return absl::OkStatus();
  }

  // Where a token taken inside this answer goes on: after the records of
  // the resources before its resource, and `skip_` of that one's. A token
  // from before resources were named counts records.
  size_t ResumeAt() const {
    if (resume_resource_.empty()) {
      return static_cast<size_t>(
          std::min<int64_t>(skip_, static_cast<int64_t>(records_.size())));
    }
    const auto named = std::find(ids_.begin(), ids_.end(), resume_resource_);
    if (named == ids_.end()) {
      // Gone from the answer: the count is all there is to go by.
      return static_cast<size_t>(
          std::min<int64_t>(skip_, static_cast<int64_t>(records_.size())));
    }
    const size_t r = static_cast<size_t>(named - ids_.begin());
    size_t at = 0;
    int64_t of_it = 0;
    while (at < records_.size() &&
           (record_resource_[at] < r ||
            (record_resource_[at] == r && of_it < skip_))) {
      of_it += record_resource_[at] == r ? 1 : 0;
      ++at;
    }
    return at;
  }

  // On to the page after the one loaded.
  void Advance() {
    start_ = *next_;
    if (listing_.cursor_paging) page_cursor_ = next_cursor_;
  }

  // The records of an answer's resources from `first` on (those before were
  // read already), each read once.
  void Load(const ListPage& page, const std::vector<std::string>& ids,
            size_t first) {
    records_.clear();
    record_resource_.clear();
    if (page.resources != nullptr) {
      const absl::flat_hash_set<std::string> seen = seen_.Set();
      size_t i = 0;
      for (const rapidjson::Value& resource : page.resources->GetArray()) {
        const std::string& id = ids[i++];
        if (i <= first || (!id.empty() && seen.count(id) > 0)) continue;
        if (listing_.keep && !listing_.keep(resource)) {
          filter_ignored_ = true;
          continue;
        }
        // A resource that cannot be read is left out and counted.
        if (!listing_.map(resource, &records_).ok()) ++unreadable_;
        record_resource_.resize(records_.size(), i - 1);
      }
    }
    ids_ = ids;
    for (size_t k = first; k < ids.size(); ++k) {
      if (!ids[k].empty()) seen_.Add(ids[k]);
    }
    if (!ids.empty()) anchor_ = ids.back();
    cursor_ = ResumeAt();
    skip_ = 0;
    resume_resource_.clear();
  }

  absl::Status PagingIgnored(std::optional<int64_t> answered) const {
    std::map<std::string, std::string> metadata = {
        {"start_index", absl::StrCat(start_)}};
    if (answered) metadata["answered_start_index"] = absl::StrCat(*answered);
    return WithErrorInfo(
        absl::FailedPreconditionError(absl::StrCat(
            "the SCIM provider ignored startIndex=", start_,
            " and answered records from elsewhere in the listing; it cannot "
            "be read whole")),
        "UPSTREAM_PAGING_IGNORED", metadata);
  }

  std::string Url(int64_t start) const {
    std::string url =
        listing_.cursor_paging
            ? absl::StrCat(listing_.collection,
                           "?cursor=", UrlEncode(page_cursor_),
                           "&count=", listing_.count)
            : absl::StrCat(listing_.collection, "?startIndex=", start,
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
    if (listing_.total_counts_records && total_ && !filter_ignored_) {
      page->total_size = *total_;
    }
  }

  // The position at `start_`, after a whole answer.
  Position After() const {
    Position at{start_, 0, total_.value_or(-1), anchored_ ? anchor_ : ""};
    at.by_cursor = listing_.cursor_paging;
    at.cursor = page_cursor_;
    return at;
  }

  void Finish(Page<T>* page, bool finished, const Position& next) {
    page->next_page_token = finished ? "" : EncodePosition(listing_.kind, next);
    page->unreadable = unreadable_;
    unreadable_ = 0;
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
  // The resource (its index in `ids_`, the answer's ids) of each record.
  std::vector<size_t> record_resource_;
  std::vector<std::string> ids_;
  // A token's resource to go on after (Position::resource).
  std::string resume_resource_;
  size_t cursor_ = 0;
  std::vector<T> items_;
  std::optional<int64_t> total_;
  int64_t stride_ = 0;
  std::optional<int64_t> next_;
  int64_t unreadable_ = 0;  // Resources read since the last page taken.
  // The resource ids read (only the anchor when resumed from a token), the
  // last one, whether the request at `start_` opens with it, and the
  // rewinds (overlap.h) in this listing and since an answer was placed.
  RecentIds seen_;
  std::string anchor_;
  std::string placed_by_;  // The anchor the loaded answer was placed by.
  // RFC 9865: the cursor of the page to read, and of the one after the
  // page loaded.
  std::string page_cursor_;
  std::string next_cursor_;

  bool anchored_ = false;
  int rewinds_ = 0;
  int rewinding_ = 0;
  // A resource the filter should have excluded came: the total counts
  // those too.
  bool filter_ignored_ = false;
};

}  // namespace internal

// A pager over `listing`, `limit` records a page, from `token` ("" for the
// first page; INVALID_CURSOR for another listing's).
template <typename T>
absl::StatusOr<std::unique_ptr<Pager<T>>> NewScimPager(
    ScimListing<T> listing, int limit, const std::string& token) {
  ASSIGN_OR_RETURN(Position at, DecodePosition(listing.kind, token));
  // A token of the other paging (the provider changed its mind) cannot say
  // where to go on.
  if (!token.empty() && at.by_cursor != listing.cursor_paging) {
    return internal::BadCursor();
  }
  if (!token.empty() && !listing.on_precondition) listing.precondition.clear();
  return std::unique_ptr<Pager<T>>(
      std::make_unique<internal::ScimPager<T>>(std::move(listing), limit, at));
}

}  // namespace unified::scim

#endif  // CONNECTORS_SCIM_SCIM_LISTINGS_H_
