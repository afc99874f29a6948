// The users listings (listings.h): of organizations, merged by name, and of
// one workspace.
#include <algorithm>
#include <deque>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"
#include "connectors/podio/listing_queries.h"
#include "connectors/podio/listings.h"
#include "connectors/podio/mappers.h"
#include "connectors/podio/podio_errors.h"

namespace unified::podio {
namespace {

// Users of the account's organizations (or one), each organization's
// name-ordered member listing merged into one (MergeByName). Its upstream
// pages are kept across the pages it yields, so a stream reads each once;
// its token records what was yielded, so a List page from it reads again
// from there.
class OrgUsersPager final : public Pager<v1::User> {
 public:
  OrgUsersPager(PageSizes* sizes, const UserFilter& filter,
                const PageRequest& page, std::string extra, int64_t only,
                std::optional<PodioPageToken> token, RefusalMemory* refusals)
      : sizes_(sizes),
        keep_(Keeps(filter)),
        page_(page),
        extra_(std::move(extra)),
        only_(only),
        refusals_(refusals),
        opened_(token.has_value()) {
    if (token) {
      token_ = std::move(*token);
      buffers_ = BuffersAt(token_);
      answered_.assign(buffers_.size(), 0);
    }
  }

  std::vector<std::string> Wants(int ahead) const override {
    if (done_) return {};
    if (!opened_) return {OrgsPath(only_)};
    const int needy = Needy();
    if (needy < 0) return {};
    std::vector<std::string> out = {UrlOf(needy, buffers_[needy].ask)};
    if (ahead > 0) {
      for (std::string& path : GuessMerge()) {
        if (path != out[0]) out.push_back(std::move(path));
      }
    }
    return out;
  }

  absl::Status Feed(const std::string& path, HttpResponse answer) override {
    if (!opened_) {
      if (path != OrgsPath(only_)) return UnexpectedAnswer(path);
      RETURN_IF_ERROR(AddOrgSources(only_, std::move(answer), &token_));
      // Organizations whose members route refused this account before:
      // their contacts at once, without asking again in vain.
      for (PageSource& source : *token_.mutable_sources()) {
        if (refusals_ != nullptr && ContactsServe() &&
            refusals_->Refused(MembersRefusal(source))) {
          source.set_contacts(true);
        }
      }
      buffers_ = BuffersAt(token_);
      answered_.assign(buffers_.size(), 0);
      opened_ = true;
      return absl::OkStatus();
    }
    const int needy = Needy();
    if (needy < 0 || path != UrlOf(needy, buffers_[needy].ask)) {
      return UnexpectedAnswer(path);
    }
    ++answered_[needy];
    ++fed_;
    return Fill(*token_.mutable_sources(needy), buffers_[needy], Size(needy),
                std::move(answer));
  }

  bool TakePage(Page<v1::User>* page) override {
    if (done_ || !opened_) return false;
    while (static_cast<int>(items_.size()) < page_.limit && !AllDone(token_)) {
      if (Needy() >= 0) {
        // A page at least half full after an answer goes out rather than
        // wait for another call only to fill it: answers after the first
        // open with a row read already, or a move passed some over.
        if (fed_ == 0 || static_cast<int>(items_.size()) * 2 < page_.limit) {
          return false;
        }
        break;
      }
      for (v1::User& user :
           MergeByName(&token_, &buffers_,
                       page_.limit - static_cast<int>(items_.size()), keep_)) {
        items_.push_back(std::move(user));
      }
    }
    page->items = std::move(items_);
    items_.clear();
    fed_ = 0;
    page->total_size.reset();
    page->unreadable = unreadable_;
    unreadable_ = 0;
    SetAnchors(buffers_, &token_);
    page->next_page_token = AllDone(token_) ? "" : EncodeToken(token_, "users");
    done_ = page->next_page_token.empty();
    return true;
  }

  bool done() const override { return done_; }

 private:
  // The first source whose next page the merge needs; -1 for none.
  int Needy() const {
    for (int i = 0; i < token_.sources_size(); ++i) {
      if (NeedsPage(token_.sources(i), buffers_[i])) return i;
    }
    return -1;
  }

  // The rows asked of source `i` a page: one more than a page, as answers
  // after the first open with a row read already (PlaceAnswer); after a
  // rewind, as many more as it went back, so the answer still fills a
  // page. As large as the route takes.
  int Size(int i) const {
    return sizes_->Size(RouteOf(token_.sources(i)),
                        page_.limit + 1 + buffers_[i].extra);
  }

  PagedRoute RouteOf(const PageSource& source) const {
    return source.contacts() ? PagedRoute::kOrgContacts
                             : PagedRoute::kOrgMembers;
  }

  // The page of source `i` at `offset`, as large as its route takes.
  std::string UrlOf(int i, int64_t offset) const {
    const PageSource& source = token_.sources(i);
    const int limit = Size(i);
    return source.contacts()
               ? ContactsUrl(source.id(), limit, offset)
               : OrgMembersUrl(source.id(), limit, offset, extra_);
  }

  // Whether the organization's contacts can serve this listing in place of
  // its members: active members only, in the same name order.
  bool ContactsServe() const {
    return !absl::StrContains(extra_, "&member_type=") &&
           absl::StartsWith(extra_, "&sort_by=name") &&
           !absl::StrContains(extra_, "&sort_desc=");
  }

  // The refusal (RefusalMemory) of an organization's members route.
  static std::string MembersRefusal(const PageSource& source) {
    return absl::StrCat("podio:org_members:", source.id());
  }

  // The members route refused (403) this account: true when the listing
  // goes on from the organization's contacts instead, false when it cannot
  // (the answer is then an error as any other), an error when the members
  // route answered earlier in this listing.
  absl::StatusOr<bool> ToContacts(PageSource& source,
                                  const SourceBuffer& buffer) {
    if (source.members() || buffer.read > 0 || buffer.anchored) {
      // The members route answered earlier in this listing: switching
      // to contacts now would silently drop what only members show
      // (pending members, roles). Fail; the token resumes here.
      return WithErrorInfo(
          absl::PermissionDeniedError(absl::StrCat(
              "Podio refused organization ", source.id(),
              "'s members part-way through the listing (were the "
              "account's admin rights revoked?); the listing stops "
              "rather than continue from another source")),
          "LISTING_SOURCE_REVOKED",
          {{"upstream_status", "403"},
           {"organization_id", absl::StrCat(source.id())}});
    }
    if (ContactsServe()) {
      if (refusals_ != nullptr) refusals_->Refuse(MembersRefusal(source));
      // Not an organization admin: the organization's contacts are the
      // members this account can see (active ones, same name order),
      // for the whole listing. They carry no roles, so a role filter
      // cannot be served from them; e-mail, status and search filters
      // are applied to each contact (Keeps).
      source.set_contacts(true);
      return true;
    }
    return false;
  }

  // Source `source`'s page at buffer.read: its rows into `buffer`; or,
  // for an account that is no organization admin (known from the source's
  // first page), its route switched to the contacts.
  absl::Status Fill(PageSource& source, SourceBuffer& buffer, int asked,
                    HttpResponse answer) {
    const PagedRoute route = RouteOf(source);
    if (answer.status == 400 && sizes_->ShrinkAfter400(route, asked)) {
      return absl::OkStatus();  // Asked again, smaller.
    }
    if (!source.contacts() && answer.status == 403) {
      ASSIGN_OR_RETURN(const bool switched, ToContacts(source, buffer));
      if (switched) return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::string body, AnswerBody(std::move(answer)));
    if (!source.contacts()) source.set_members(true);
    // Mapped as the text is parsed: no document is built (member_reader.h).
    ASSIGN_OR_RETURN(
        std::vector<absl::StatusOr<v1::User>> mapped,
        MapOrgMemberPage(std::move(body), OrgRef(source.id(), source.name()),
                         source.contacts(), page_.include_remote_data));
    std::vector<std::string> ids;
    for (const absl::StatusOr<v1::User>& user : mapped) {
      ids.push_back(user.ok() ? user->id() : "");
    }
    // The ids this source gave already (taken, or buffered).
    absl::flat_hash_set<std::string> seen = buffer.recent.Set();
    for (const Buffered& b : buffer.users) seen.insert(b.user.id());
    Placement place;
    if (buffer.anchored) {
      place = PlaceAnswer(ids, seen, buffer.ask, asked, buffer.rewinding);
    }
    if (place.rewind) {
      // Rows moved back under the listing: asked again from further back.
      if (++buffer.rewinds > kMaxRewinds)
        return ListMoved(
            absl::StrCat("organization ", source.id(), "'s members"));
      ++buffer.rewinding;
      buffer.extra += static_cast<int>(buffer.ask - place.rewind_to);
      buffer.ask = place.rewind_to;
      return absl::OkStatus();
    }
    buffer.rewinding = 0;
    buffer.extra = 0;
    Take(mapped, place.first_new, buffer.ask, seen, source, buffer);
    const int64_t n = static_cast<int64_t>(mapped.size());
    // Rows after a short answer: the route capped it silently.
    if (n > static_cast<int64_t>(place.first_new) && buffer.short_rows > 0) {
      sizes_->LearnCap(route, buffer.short_rows);
    }
    buffer.fetched = true;
    buffer.read = buffer.ask + n;
    buffer.ask = NextAsk(buffer.ask, n, n > 0 && !ids.back().empty(), asked,
                         &buffer.anchored);
    // Contacts hide inactive members, and filters drop rows: the count
    // holds only for the unfiltered member listing.
    const bool counted = !source.contacts() && extra_ == "&sort_by=name";
    const bool end = n == 0 || sizes_->Ends(route, n, asked, buffer.read,
                                            counted ? source.expected() : 0);
    buffer.more = !end;
    buffer.short_rows = !end && n < asked ? n : 0;
    if (!buffer.more && buffer.users.empty()) source.set_done(true);
    return absl::OkStatus();
  }

  // The rows of an answer asked at `asked` from `first` on into `buffer`,
  // each with its upstream place. A row that cannot be read is left out
  // and counted (Page::unreadable); the offsets pass it.
  void Take(std::vector<absl::StatusOr<v1::User>>& mapped, size_t first,
            int64_t asked, absl::flat_hash_set<std::string>& seen,
            PageSource& source, SourceBuffer& buffer) {
    for (size_t i = first; i < mapped.size(); ++i) {
      if (!mapped[i].ok()) {
        ++unreadable_;
        continue;
      }
      // One read already moved here with the list: passed over.
      if (!seen.insert(mapped[i]->id()).second) continue;
      buffer.users.push_back(
          {std::move(*mapped[i]), asked + static_cast<int64_t>(i)});
    }
    const int64_t end = asked + static_cast<int64_t>(mapped.size());
    if (buffer.users.empty()) {
      source.set_offset(end);
      buffer.skipped = 0;
    } else {
      buffer.skipped = end - (buffer.users.back().at + 1);
    }
  }

  // The next upstream pages: each live source's from where its buffer was
  // read to, round-robin (the merge takes from all), as far as its member
  // count says (a single source without one: PageSizes::BlindPages more;
  // several: only the next page of each), and only the next one until the
  // source has answered once: whether the listing works at all (rights,
  // rate limit) is known before spending more.
  std::vector<std::string> GuessMerge() const {
    std::vector<int> live;
    for (int i = 0; i < token_.sources_size(); ++i) {
      const PageSource& source = token_.sources(i);
      if (!source.done() && (buffers_[i].more || !buffers_[i].fetched)) {
        live.push_back(i);
      }
    }
    std::vector<std::string> out;
    for (int64_t k = 0; out.size() < kMaxGuesses; ++k) {
      bool any = false;
      for (int i : live) {
        const PageSource& source = token_.sources(i);
        // Contacts hide inactive members: the count may overstate them.
        const bool counted = !source.contacts() && extra_ == "&sort_by=name" &&
                             source.expected() > 0;
        const int size = Size(i);
        // Pages overlap by a row (PlaceAnswer); after a rewind, only the
        // next page is certain.
        const int overlap = size > 1 ? 1 : 0;
        const int64_t offset = buffers_[i].ask + k * (size - overlap);
        if (k > 0 && (!buffers_[i].fetched || buffers_[i].extra > 0 ||
                      (counted ? offset + overlap > source.expected()
                               : live.size() > 1 ||
                                     k > sizes_->BlindPages(answered_[i])))) {
          continue;
        }
        any = true;
        out.push_back(UrlOf(i, offset));
        if (out.size() >= kMaxGuesses) break;
      }
      if (!any) break;
    }
    return out;
  }

  PageSizes* const sizes_;
  const std::function<bool(const v1::User&)> keep_;
  const PageRequest page_;
  const std::string extra_;
  const int64_t only_;
  RefusalMemory* const refusals_;  // May be null.
  bool opened_;
  bool done_ = false;
  PodioPageToken token_;
  std::vector<SourceBuffer> buffers_;
  // Answers fed per source in this pager (how far a blind guess may go).
  std::vector<int64_t> answered_;
  std::vector<v1::User> items_;
  int64_t unreadable_ = 0;  // Since the last page taken.
  int fed_ = 0;             // Member answers since the last page taken.
};

// Users of one workspace: GET /space/{id} (its organization, and that it
// is in the filter's), then its member listing, a page per upstream page.
class WorkspaceUsersPager final : public Pager<v1::User> {
 public:
  WorkspaceUsersPager(PageSizes* sizes, const UserFilter& filter,
                      const PageRequest& page, std::string member_type,
                      int64_t space_id, std::optional<PodioPageToken> token)
      : sizes_(sizes),
        keep_(Keeps(filter)),
        page_(page),
        member_type_(std::move(member_type)),
        search_(SearchOf(filter)),
        organization_id_(filter.organization_id),
        space_id_(space_id),
        opened_(token.has_value()) {
    if (token) {
      token_ = std::move(*token);
      const PageSource& source = token_.sources(0);
      for (const std::string& id : source.anchors()) recent_.Add(id);
      anchored_ = !recent_.empty() && source.offset() > 0;
      ask_ = AskAt(source.offset(), anchored_);
    }
  }

  std::vector<std::string> Wants(int ahead) const override {
    if (done_ || ready_) return {};
    if (!opened_) return {absl::StrCat("/space/", space_id_)};
    std::vector<std::string> out;
    const PageSource& source = token_.sources(0);
    const int size = Size();
    auto url = [&](int64_t offset) {
      return SpaceMembersUrl(source.id(), size, offset, member_type_, search_);
    };
    // After a rewind, only the page asked again is certain.
    if (ahead <= 0 || back_rows_ > 0) return {url(ask_)};
    // Pages overlap by a row (PlaceAnswer).
    GuessPages(source, ask_, size, size > 1 ? 1 : 0,
               member_type_.empty() && search_.empty(),
               sizes_->BlindPages(answered_), url, &out);
    return out;
  }

  absl::Status Feed(const std::string& path, HttpResponse answer) override {
    if (!opened_) {
      ASSIGN_OR_RETURN(
          *token_.add_sources(),
          ReadWorkspaceSource(std::move(answer), organization_id_));
      opened_ = true;
      return absl::OkStatus();
    }
    PageSource& source = *token_.mutable_sources(0);
    const int asked = Size();
    if (path !=
        SpaceMembersUrl(source.id(), asked, ask_, member_type_, search_)) {
      return UnexpectedAnswer(path);
    }
    ++answered_;
    if (answer.status == 400 &&
        sizes_->ShrinkAfter400(PagedRoute::kSpaceMembers, asked)) {
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::string body, AnswerBody(std::move(answer)));
    v1::WorkspaceRef ws;
    ws.set_id(absl::StrCat(source.id()));
    ws.set_name(source.name());
    // Mapped as the text is parsed: no document is built (member_reader.h).
    ASSIGN_OR_RETURN(
        std::vector<absl::StatusOr<v1::User>> mapped,
        MapSpaceMemberPage(std::move(body), ws, page_.include_remote_data));
    std::vector<std::string> ids;
    for (const absl::StatusOr<v1::User>& user : mapped) {
      ids.push_back(user.ok() ? user->id() : "");
    }
    absl::flat_hash_set<std::string> seen = recent_.Set();
    Placement place;
    if (anchored_) place = PlaceAnswer(ids, seen, ask_, asked, rewinding_);
    if (place.rewind) {
      // Rows moved back under the listing: asked again from further back.
      if (++rewinds_ > kMaxRewinds)
        return ListMoved(absl::StrCat("workspace ", source.id(), "'s members"));
      ++rewinding_;
      back_rows_ += static_cast<int>(ask_ - place.rewind_to);
      ask_ = place.rewind_to;
      return absl::OkStatus();
    }
    rewinding_ = 0;
    back_rows_ = 0;
    items_.clear();
    unreadable_ = 0;
    for (size_t i = place.first_new; i < mapped.size(); ++i) {
      absl::StatusOr<v1::User>& user = mapped[i];
      if (!user.ok()) {
        ++unreadable_;  // Left out and counted (Page::unreadable).
        continue;
      }
      if (!seen.insert(user->id()).second) continue;  // Read already.
      recent_.Add(user->id());
      if (source.parent_id() != 0) {
        *user->add_organizations() =
            OrgRef(source.parent_id(), source.parent_name());
      }
      if (keep_(*user)) items_.push_back(std::move(*user));
    }
    const int64_t n = static_cast<int64_t>(mapped.size());
    if (n > static_cast<int64_t>(place.first_new) && short_rows_ > 0) {
      sizes_->LearnCap(PagedRoute::kSpaceMembers, short_rows_);
    }
    source.set_offset(ask_ + n);
    ask_ = NextAsk(ask_, n, n > 0 && !ids.back().empty(), asked, &anchored_);
    WriteAnchors(recent_, &source);
    const bool counted = member_type_.empty() && search_.empty();
    const bool end = n == 0 || sizes_->Ends(PagedRoute::kSpaceMembers, n, asked,
                                            source.offset(),
                                            counted ? source.expected() : 0);
    more_ = !end;
    short_rows_ = !end && n < asked ? n : 0;
    ready_ = true;
    return absl::OkStatus();
  }

  bool TakePage(Page<v1::User>* page) override {
    if (!ready_) return false;
    ready_ = false;
    page->items = std::move(items_);
    items_.clear();
    page->total_size.reset();
    page->unreadable = unreadable_;
    page->next_page_token = more_ ? EncodeToken(token_, "users") : "";
    done_ = !more_;
    return true;
  }

  bool done() const override { return done_; }

 private:
  int Size() const {
    // One more than a page: answers after the first open with a row read
    // already (PlaceAnswer); after a rewind, as many more as it went back.
    return sizes_->Size(PagedRoute::kSpaceMembers,
                        page_.limit + 1 + back_rows_);
  }

  PageSizes* const sizes_;
  const std::function<bool(const v1::User&)> keep_;
  const PageRequest page_;
  const std::string member_type_;
  const std::string search_;
  const std::string organization_id_;
  const int64_t space_id_;
  bool opened_;
  bool ready_ = false;
  bool more_ = false;
  bool done_ = false;
  int64_t answered_ = 0;  // Member pages fed in this pager.
  // The ids read (PlaceAnswer), the offset the next page is asked at, and
  // whether it is anchored by a row read before.
  RecentIds recent_;
  int64_t ask_ = 0;
  bool anchored_ = false;
  int rewinds_ = 0;         // Placement::rewind taken in this listing...
  int rewinding_ = 0;       // ... and since an answer was placed.
  int back_rows_ = 0;       // Rows those went back: asked on top of a page.
  int64_t unreadable_ = 0;  // Of the page fed last.
  // The rows of the last answer when short without ending the listing.
  int64_t short_rows_ = 0;
  PodioPageToken token_;
  std::vector<v1::User> items_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Pager<v1::User>>> NewUsersPager(
    PageSizes* sizes, const UserFilter& filter, const PageRequest& page,
    RefusalMemory* refusals) {
  ASSIGN_OR_RETURN(std::optional<PodioPageToken> token,
                   TokenOf(page.page_token, "users"));
  if (!filter.workspace_id.empty()) {
    ASSIGN_OR_RETURN(std::string member_type, SpaceMemberType(filter));
    ASSIGN_OR_RETURN(int64_t space_id,
                     ParseId(filter.workspace_id, "workspace_id"));
    if (token && token->sources_size() != 1) {
      return BadArgument("cursor does not belong to this listing",
                         "INVALID_CURSOR");
    }
    return std::unique_ptr<Pager<v1::User>>(
        std::make_unique<WorkspaceUsersPager>(sizes, filter, page,
                                              std::move(member_type), space_id,
                                              std::move(token)));
  }
  ASSIGN_OR_RETURN(std::string extra, OrgMemberQuery(filter));
  int64_t only = 0;
  if (!filter.organization_id.empty()) {
    ASSIGN_OR_RETURN(only, ParseId(filter.organization_id, "organization_id"));
  }
  return std::unique_ptr<Pager<v1::User>>(std::make_unique<OrgUsersPager>(
      sizes, filter, page, std::move(extra), only, std::move(token), refusals));
}

}  // namespace unified::podio
