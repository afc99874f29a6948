// The users listings (listings.h): of organizations, merged by name, and of
// one workspace.
#include <algorithm>
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
                std::optional<PodioPageToken> token)
      : sizes_(sizes),
        keep_(Keeps(filter)),
        page_(page),
        extra_(std::move(extra)),
        only_(only),
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
    std::vector<std::string> out = {UrlOf(needy, buffers_[needy].read)};
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
      buffers_ = BuffersAt(token_);
      answered_.assign(buffers_.size(), 0);
      opened_ = true;
      return absl::OkStatus();
    }
    const int needy = Needy();
    if (needy < 0 || path != UrlOf(needy, buffers_[needy].read)) {
      return UnexpectedAnswer(path);
    }
    ++answered_[needy];
    return Fill(*token_.mutable_sources(needy), buffers_[needy],
                std::move(answer));
  }

  bool TakePage(Page<v1::User>* page) override {
    if (done_ || !opened_) return false;
    while (static_cast<int>(items_.size()) < page_.limit && !AllDone(token_)) {
      if (Needy() >= 0) return false;
      for (v1::User& user :
           MergeByName(&token_, &buffers_,
                       page_.limit - static_cast<int>(items_.size()), keep_)) {
        items_.push_back(std::move(user));
      }
    }
    page->items = std::move(items_);
    items_.clear();
    page->total_size.reset();
    page->unreadable = unreadable_;
    unreadable_ = 0;
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

  PagedRoute RouteOf(const PageSource& source) const {
    return source.contacts() ? PagedRoute::kOrgContacts
                             : PagedRoute::kOrgMembers;
  }

  // The page of source `i` at `offset`, as large as its route takes.
  std::string UrlOf(int i, int64_t offset) const {
    const PageSource& source = token_.sources(i);
    const int limit = sizes_->Size(RouteOf(source), page_.limit);
    return source.contacts()
               ? ContactsUrl(source.id(), limit, offset)
               : OrgMembersUrl(source.id(), limit, offset, extra_);
  }

  // Source `source`'s page at buffer.read: its rows into `buffer`; or,
  // for an account that is no organization admin (known from the source's
  // first page), its route switched to the contacts.
  absl::Status Fill(PageSource& source, SourceBuffer& buffer,
                    HttpResponse answer) {
    const PagedRoute route = RouteOf(source);
    const int asked = sizes_->Size(route, page_.limit);
    if (answer.status == 400 && sizes_->ShrinkAfter400(route, asked)) {
      return absl::OkStatus();  // Asked again, smaller.
    }
    if (!source.contacts() && answer.status == 403) {
      if (source.members() || buffer.read > 0) {
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
      if (!absl::StrContains(extra_, "&member_type=") &&
          absl::StartsWith(extra_, "&sort_by=name") &&
          !absl::StrContains(extra_, "&sort_desc=")) {
        // Not an organization admin: the organization's contacts are the
        // members this account can see (active ones, same name order),
        // for the whole listing. They carry no roles, so a role filter
        // cannot be served from them; e-mail, status and search filters
        // are applied to each contact (Keeps).
        source.set_contacts(true);
        return absl::OkStatus();
      }
    }
    ASSIGN_OR_RETURN(json::Body doc, ReadAnswer(std::move(answer)));
    if (!source.contacts()) source.set_members(true);
    ASSIGN_OR_RETURN(rapidjson::Value::ConstArray rows,
                     ListOf(doc, "organization members"));
    const v1::OrganizationRef ref = OrgRef(source.id(), source.name());
    // A row that cannot be read is left out and counted (Page::unreadable);
    // its place in the upstream list still counts toward the offsets.
    int64_t pending = 0;
    // The ids this source gave already (taken, or buffered): a member added
    // before the offset since moves one of them into this page.
    absl::flat_hash_set<std::string> seen(buffer.recent.begin(),
                                          buffer.recent.end());
    for (const Buffered& b : buffer.users) seen.insert(b.user.id());
    for (const rapidjson::Value& member : rows) {
      absl::StatusOr<v1::User> user =
          source.contacts()
              ? MapOrgContact(member, ref, page_.include_remote_data)
              : MapOrgMember(member, ref, page_.include_remote_data);
      if (!user.ok()) {
        ++pending;
        ++unreadable_;
        continue;
      }
      if (!seen.insert(user->id()).second) {
        ++pending;  // Read already: the list moved under the listing.
        continue;
      }
      buffer.users.push_back({std::move(*user), 1 + pending});
      pending = 0;
    }
    if (buffer.users.empty()) {
      source.set_offset(source.offset() + buffer.skipped + pending);
      buffer.skipped = 0;
    } else {
      buffer.skipped += pending;
    }
    const int64_t n = rows.Size();
    // Rows after a short answer: the route capped it silently.
    if (n > 0 && buffer.short_rows > 0) {
      sizes_->LearnCap(route, buffer.short_rows);
    }
    buffer.fetched = true;
    buffer.read += n;
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
        const int size = sizes_->Size(RouteOf(source), page_.limit);
        const int64_t offset = buffers_[i].read + k * size;
        if (k > 0 && (!buffers_[i].fetched ||
                      (counted ? offset > source.expected()
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
  bool opened_;
  bool done_ = false;
  PodioPageToken token_;
  std::vector<SourceBuffer> buffers_;
  // Answers fed per source in this pager (how far a blind guess may go).
  std::vector<int64_t> answered_;
  std::vector<v1::User> items_;
  int64_t unreadable_ = 0;  // Since the last page taken.
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
    if (token) token_ = std::move(*token);
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
    if (ahead <= 0) return {url(source.offset())};
    GuessPages(source, size, member_type_.empty() && search_.empty(),
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
    if (path != SpaceMembersUrl(source.id(), asked, source.offset(),
                                member_type_, search_)) {
      return UnexpectedAnswer(path);
    }
    ++answered_;
    if (answer.status == 400 &&
        sizes_->ShrinkAfter400(PagedRoute::kSpaceMembers, asked)) {
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(json::Body doc, ReadAnswer(std::move(answer)));
    ASSIGN_OR_RETURN(rapidjson::Value::ConstArray rows,
                     ListOf(doc, "workspace members"));
    v1::WorkspaceRef ws;
    ws.set_id(absl::StrCat(source.id()));
    ws.set_name(source.name());
    items_.clear();
    unreadable_ = 0;
    for (const rapidjson::Value& member : rows) {
      absl::StatusOr<v1::User> user =
          MapSpaceMemberV2(member, ws, page_.include_remote_data);
      if (!user.ok()) {
        ++unreadable_;  // Left out and counted (Page::unreadable).
        continue;
      }
      if (source.parent_id() != 0) {
        *user->add_organizations() =
            OrgRef(source.parent_id(), source.parent_name());
      }
      if (keep_(*user)) items_.push_back(std::move(*user));
    }
    const int64_t n = rows.Size();
    if (n > 0 && short_rows_ > 0) {
      sizes_->LearnCap(PagedRoute::kSpaceMembers, short_rows_);
    }
    source.set_offset(source.offset() + n);
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
    return sizes_->Size(PagedRoute::kSpaceMembers, page_.limit);
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
  int64_t answered_ = 0;    // Member pages fed in this pager.
  int64_t unreadable_ = 0;  // Of the page fed last.
  // The rows of the last answer when short without ending the listing.
  int64_t short_rows_ = 0;
  PodioPageToken token_;
  std::vector<v1::User> items_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Pager<v1::User>>> NewUsersPager(
    PageSizes* sizes, const UserFilter& filter, const PageRequest& page) {
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
      sizes, filter, page, std::move(extra), only, std::move(token)));
}

}  // namespace unified::podio
