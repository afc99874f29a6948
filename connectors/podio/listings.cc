// The organization, workspace and role-assignment listings (listings.h).
// The users listings are in user_listings.cc.
#include "connectors/podio/listings.h"

#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/status_macros.h"
#include "connectors/podio/listing_queries.h"
#include "connectors/podio/mappers.h"
#include "connectors/podio/podio_errors.h"

namespace unified::podio {
namespace {

// GET /org/ holds the whole list: one answer makes every page.
class OrganizationsPager final : public Pager<v1::Organization> {
 public:
  OrganizationsPager(const PageRequest& page, int64_t position)
      : page_(page), position_(position) {}

  std::vector<std::string> Wants(int) const override {
    if (done_ || loaded_) return {};
    return {OrgsPath(0)};
  }

  absl::Status Feed(const std::string& path, HttpResponse answer) override {
    if (loaded_ || path != OrgsPath(0)) return UnexpectedAnswer(path);
    ASSIGN_OR_RETURN(json::Body doc, ReadAnswer(std::move(answer)));
    ASSIGN_OR_RETURN(rapidjson::Value::ConstArray rows, ListOf(doc, "/org/"));
    for (int64_t i = position_; i < rows.Size(); ++i) {
      absl::StatusOr<v1::Organization> org = MapOrganization(
          rows[static_cast<rapidjson::SizeType>(i)], page_.include_remote_data);
      // An unreadable row keeps its place and is counted when passed.
      orgs_.push_back(org.ok() ? std::optional<v1::Organization>(*org)
                               : std::nullopt);
    }
    total_ = rows.Size();
    loaded_ = true;
    return absl::OkStatus();
  }

  bool TakePage(Page<v1::Organization>* page) override {
    if (done_ || !loaded_) return false;
    page->items.clear();
    page->total_size = total_;
    page->unreadable = 0;
    for (; !orgs_.empty() && static_cast<int>(page->items.size()) < page_.limit;
         ++position_) {
      if (orgs_.front()) {
        page->items.push_back(std::move(*orgs_.front()));
      } else {
        ++page->unreadable;
      }
      orgs_.pop_front();
    }
    page->next_page_token.clear();
    if (!orgs_.empty()) {
      PodioPageToken token;
      token.set_position(position_);
      page->next_page_token = EncodeToken(token, "orgs");
    }
    done_ = page->next_page_token.empty();
    return true;
  }

  bool done() const override { return done_; }

 private:
  const PageRequest page_;
  int64_t position_;
  bool loaded_ = false;
  bool done_ = false;
  std::deque<std::optional<v1::Organization>> orgs_;  // nullopt: unreadable.
  int64_t total_ = 0;
};

// Each organization's spaces in turn; an organization's offset is the next
// space of its list. The current organization's spaces are kept across
// pages.
class WorkspacesPager final : public Pager<v1::Workspace> {
 public:
  WorkspacesPager(const PageRequest& page, int64_t only,
                  std::optional<PodioPageToken> token)
      : page_(page), only_(only), opened_(token.has_value()) {
    if (token) token_ = std::move(*token);
  }

  std::vector<std::string> Wants(int ahead) const override {
    if (done_) return {};
    if (!opened_) return {OrgsPath(only_)};
    if (loaded_ || Full() || Finished()) return {};
    std::vector<std::string> out;
    for (int64_t i = token_.position();
         i < token_.sources_size() && out.size() < kMaxGuesses; ++i) {
      out.push_back(SpacesUrl(token_.sources(static_cast<int>(i)).id()));
      if (ahead <= 0) break;
    }
    return out;
  }

  absl::Status Feed(const std::string& path, HttpResponse answer) override {
    if (!opened_) {
      if (path != OrgsPath(only_)) return UnexpectedAnswer(path);
      RETURN_IF_ERROR(AddOrgSources(only_, std::move(answer), &token_));
      opened_ = true;
      return absl::OkStatus();
    }
    PageSource& source =
        *token_.mutable_sources(static_cast<int>(token_.position()));
    if (loaded_ || path != SpacesUrl(source.id())) {
      return UnexpectedAnswer(path);
    }
    ASSIGN_OR_RETURN(json::Body spaces, ReadAnswer(std::move(answer)));
    ASSIGN_OR_RETURN(rapidjson::Value::ConstArray rows,
                     ListOf(spaces, "organization spaces"));
    const v1::OrganizationRef ref = OrgRef(source.id(), source.name());
    for (int64_t i = source.offset(); i < rows.Size(); ++i) {
      absl::StatusOr<v1::Workspace> ws =
          MapSpace(rows[static_cast<rapidjson::SizeType>(i)], ref,
                   page_.include_remote_data);
      // An unreadable row keeps its place and is counted when passed.
      buffer_.push_back(ws.ok() ? std::optional<v1::Workspace>(*ws)
                                : std::nullopt);
    }
    // One organization's space list comes whole: its size is the
    // listing's total. Across organizations it would take them all.
    if (token_.sources_size() == 1) total_ = rows.Size();
    loaded_ = true;
    return absl::OkStatus();
  }

  bool TakePage(Page<v1::Workspace>* page) override {
    if (done_ || !opened_) return false;
    while (!Finished()) {
      if (!loaded_) {
        if (Full()) break;
        return false;
      }
      PageSource& source =
          *token_.mutable_sources(static_cast<int>(token_.position()));
      while (!buffer_.empty() && !Full()) {
        if (buffer_.front()) {
          items_.push_back(std::move(*buffer_.front()));
        } else {
          ++unreadable_;
        }
        buffer_.pop_front();
        source.set_offset(source.offset() + 1);
      }
      if (!buffer_.empty()) break;
      token_.set_position(token_.position() + 1);
      loaded_ = false;
    }
    page->items = std::move(items_);
    items_.clear();
    page->total_size = total_;
    page->unreadable = unreadable_;
    unreadable_ = 0;
    page->next_page_token = Finished() ? "" : EncodeToken(token_, "workspaces");
    done_ = page->next_page_token.empty();
    return true;
  }

  bool done() const override { return done_; }

 private:
  bool Full() const { return static_cast<int>(items_.size()) >= page_.limit; }
  bool Finished() const { return token_.position() >= token_.sources_size(); }

  const PageRequest page_;
  const int64_t only_;
  bool opened_;
  bool loaded_ = false;
  bool done_ = false;
  PodioPageToken token_;
  std::deque<std::optional<v1::Workspace>> buffer_;  // nullopt: unreadable.
  std::vector<v1::Workspace> items_;
  std::optional<int64_t> total_;
  int64_t unreadable_ = 0;  // Passed since the last page taken.
};

// Phase 0: each organization's member listing (organization roles); then
// the spaces of those organizations are listed, and phase 1 reads each
// workspace's member listing (workspace roles). A listing of one workspace
// opens in phase 1 with that workspace alone. The current source's rows
// are kept across pages.
class AssignmentsPager final : public Pager<v1::RoleAssignment> {
 public:
  AssignmentsPager(PageSizes* sizes, const PageRequest& page,
                   const RoleAssignmentFilter& filter, int64_t only_org,
                   int64_t space_id, std::optional<PodioPageToken> token)
      : sizes_(sizes),
        page_(page),
        organization_id_(filter.organization_id),
        only_org_(only_org),
        space_id_(space_id),
        opened_(token.has_value()) {
    if (token) {
      token_ = std::move(*token);
      if (token_.position() < token_.sources_size()) {
        const PageSource& source =
            token_.sources(static_cast<int>(token_.position()));
        for (const std::string& id : source.anchors()) recent_.Add(id);
        anchored_ = !recent_.empty() && source.offset() > 0;
      }
    }
  }

  std::vector<std::string> Wants(int ahead) const override {
    if (done_) return {};
    if (!opened_) {
      return {space_id_ != 0 ? absl::StrCat("/space/", space_id_)
                             : OrgsPath(only_org_)};
    }
    if (Full() || loaded_ || Finished()) return {};
    std::vector<std::string> out;
    if (SourcesRead()) {  // Listing the organizations' spaces.
      for (int i = spaces_of_; i < token_.sources_size(); ++i) {
        out.push_back(SpacesUrl(token_.sources(i).id()));
        if (ahead <= 0) break;
      }
      return out;
    }
    const int size = Size();
    for (int64_t i = token_.position();
         i < token_.sources_size() && out.size() < kMaxGuesses; ++i) {
      const PageSource& source = token_.sources(static_cast<int>(i));
      auto url = [&](int64_t offset) {
        return AssignmentsUrl(OrgPhase(), source.id(), size, offset);
      };
      if (i == token_.position()) {
        // After a rewind, only the page asked again is certain.
        if (ahead <= 0 || rewind_at_) return {url(Ask())};
        GuessPages(source, Ask(), size, size > 1 ? 1 : 0,
                   /*counted=*/true, sizes_->BlindPages(answered_), url, &out);
      } else {
        // Where a later source starts depends on the page boundary: only
        // its first page is certain.
        out.push_back(url(0));
      }
    }
    if (OrgPhase()) {
      for (const PageSource& org : token_.sources()) {
        if (out.size() >= kMaxGuesses) break;
        out.push_back(SpacesUrl(org.id()));
      }
    }
    return out;
  }

  absl::Status Feed(const std::string& path, HttpResponse answer) override {
    if (!opened_) return Open(std::move(answer));
    if (SourcesRead()) return AddSpaces(path, std::move(answer));
    PageSource& source =
        *token_.mutable_sources(static_cast<int>(token_.position()));
    const int asked = Size();
    const int64_t ask = Ask();
    if (loaded_ ||
        path != AssignmentsUrl(OrgPhase(), source.id(), asked, ask)) {
      return UnexpectedAnswer(path);
    }
    const PagedRoute route =
        OrgPhase() ? PagedRoute::kOrgMembers : PagedRoute::kSpaceMembers;
    if (answer.status == 400 && sizes_->ShrinkAfter400(route, asked)) {
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(json::Body doc, ReadAnswer(std::move(answer)));
    ASSIGN_OR_RETURN(rapidjson::Value::ConstArray rows, ListOf(doc, "members"));
    std::vector<absl::StatusOr<std::optional<v1::RoleAssignment>>> mapped;
    std::vector<std::string> ids;
    for (const rapidjson::Value& row : rows) {
      mapped.push_back(MapMemberAssignment(
          row,
          OrgPhase() ? v1::ROLE_SCOPE_ORGANIZATION : v1::ROLE_SCOPE_WORKSPACE,
          source.id(), source.name()));
      ids.push_back(mapped.back().ok() && *mapped.back()
                        ? (*mapped.back())->user_id()
                        : "");
    }
    // Rows that moved under the listing (connectors/common/overlap.h).
    Placement place;
    if (anchored_) {
      place = PlaceAnswer(ids, recent_.Set(), ask, asked, rewinding_);
    }
    if (place.rewind) {
      if (++rewinds_ > kMaxRewinds) {
        return ListMoved(absl::StrCat("members of ", source.id()));
      }
      ++rewinding_;
      rewind_at_ = place.rewind_to;
      return absl::OkStatus();
    }
    rewinding_ = 0;
    rewind_at_.reset();
    const absl::flat_hash_set<std::string> seen = recent_.Set();
    source.set_offset(ask + static_cast<int64_t>(place.first_new));
    for (size_t i = place.first_new; i < mapped.size(); ++i) {
      if (!ids[i].empty() && seen.count(ids[i])) {
        mapped[i] = std::optional<v1::RoleAssignment>();  // Read already.
      } else if (!mapped[i].ok()) {
        ++unreadable_;  // Its place kept, counted (Page).
      }
      rows_.push_back(
          {mapped[i].ok() ? std::move(*mapped[i]) : std::nullopt, ids[i]});
    }
    const int64_t n = rows.Size();
    (void)NextAsk(ask, n, n > 0 && !ids.back().empty(), asked, &anchored_);
    if (n > 0 && short_rows_ > 0) sizes_->LearnCap(route, short_rows_);
    last_ = n == 0 || sizes_->Ends(route, n, asked, ask + n, source.expected());
    short_rows_ = !last_ && n < asked ? n : 0;
    loaded_ = true;
    ++answered_;
    return absl::OkStatus();
  }

  bool TakePage(Page<v1::RoleAssignment>* page) override {
    if (done_ || !opened_) return false;
    while (!Full() && !Finished()) {
      if (SourcesRead()) {
        if (spaces_of_ < token_.sources_size()) return false;
        // Every organization's spaces listed: the workspace phase.
        token_ = std::move(spaces_);
        spaces_ = PodioPageToken();
        spaces_of_ = 0;
        continue;
      }
      if (!loaded_) return false;
      PageSource& source =
          *token_.mutable_sources(static_cast<int>(token_.position()));
      while (!rows_.empty() && !Full()) {
        Row& row = rows_.front();
        if (row.assignment) items_.push_back(std::move(*row.assignment));
        // Taken: what the next page (or a token's) is placed by.
        if (!row.id.empty()) recent_.Add(row.id);
        rows_.pop_front();
        source.set_offset(source.offset() + 1);
      }
      if (rows_.empty()) {
        loaded_ = false;
        if (last_) {
          token_.set_position(token_.position() + 1);
          answered_ = 0;
          short_rows_ = 0;
          recent_ = RecentIds();
          anchored_ = false;
        }
      }
    }
    page->unreadable = unreadable_;
    unreadable_ = 0;
    page->items = std::move(items_);
    items_.clear();
    page->total_size.reset();
    if (token_.position() < token_.sources_size()) {
      WriteAnchors(recent_,
                   token_.mutable_sources(static_cast<int>(token_.position())));
    }
    page->next_page_token =
        Finished() ? "" : EncodeToken(token_, "assignments");
    done_ = page->next_page_token.empty();
    return true;
  }

  bool done() const override { return done_; }

 private:
  bool OrgPhase() const { return token_.phase() == 0; }
  bool Full() const { return static_cast<int>(items_.size()) >= page_.limit; }
  // Every source of the current phase read.
  bool SourcesRead() const {
    return token_.position() >= token_.sources_size() && OrgPhase();
  }
  bool Finished() const {
    return token_.phase() == 1 && token_.position() >= token_.sources_size();
  }
  int Size() const {
    return sizes_->Size(
        OrgPhase() ? PagedRoute::kOrgMembers : PagedRoute::kSpaceMembers,
        page_.limit);
  }
  // The offset the current source's next page is asked at: from its last
  // row read (overlap.h), or where a rewind went.
  int64_t Ask() const {
    if (rewind_at_) return *rewind_at_;
    return AskAt(token_.sources(static_cast<int>(token_.position())).offset(),
                 anchored_);
  }

  absl::Status Open(HttpResponse answer) {
    if (space_id_ != 0) {
      ASSIGN_OR_RETURN(
          *token_.add_sources(),
          ReadWorkspaceSource(std::move(answer), organization_id_));
      token_.set_phase(1);
    } else {
      RETURN_IF_ERROR(AddOrgSources(only_org_, std::move(answer), &token_));
    }
    opened_ = true;
    return absl::OkStatus();
  }

  absl::Status AddSpaces(const std::string& path, HttpResponse answer) {
    if (path != SpacesUrl(token_.sources(spaces_of_).id())) {
      return UnexpectedAnswer(path);
    }
    ASSIGN_OR_RETURN(json::Body spaces, ReadAnswer(std::move(answer)));
    ASSIGN_OR_RETURN(std::vector<SourceInfo> listed, ReadSpaceList(spaces));
    for (const SourceInfo& space : listed) {
      PageSource* source = spaces_.add_sources();
      source->set_id(space.id);
      source->set_name(space.name);
      source->set_expected(space.members);
    }
    spaces_.set_phase(1);
    ++spaces_of_;
    return absl::OkStatus();
  }

  PageSizes* const sizes_;
  const PageRequest page_;
  const std::string organization_id_;
  const int64_t only_org_;
  const int64_t space_id_;
  bool opened_;
  bool loaded_ = false;
  bool last_ = false;     // The loaded rows are the source's last page.
  int64_t answered_ = 0;  // The current source's pages fed in this pager.
  // The rows of the last answer when short without ending its source.
  int64_t short_rows_ = 0;
  int64_t unreadable_ = 0;  // Read since the last page taken.
  bool done_ = false;
  PodioPageToken token_;
  // The current source's rows read and not yet taken: the assignment
  // (none for an unreadable row, or one read already) and the member's id.
  struct Row {
    std::optional<v1::RoleAssignment> assignment;
    std::string id;
  };
  std::deque<Row> rows_;
  std::vector<v1::RoleAssignment> items_;
  // The workspace phase's sources, while the organizations' spaces are
  // listed (spaces_of_ of them so far).
  PodioPageToken spaces_;
  int spaces_of_ = 0;
  // The current source's ids read, whether its next page opens with one,
  // where a rewind asks, and the rewinds (overlap.h).
  RecentIds recent_;
  bool anchored_ = false;
  std::optional<int64_t> rewind_at_;
  int rewinds_ = 0;
  int rewinding_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Pager<v1::Organization>>> NewOrganizationsPager(
    const PageRequest& page) {
  ASSIGN_OR_RETURN(std::optional<PodioPageToken> token,
                   TokenOf(page.page_token, "orgs"));
  return std::unique_ptr<Pager<v1::Organization>>(
      std::make_unique<OrganizationsPager>(page,
                                           token ? token->position() : 0));
}

absl::StatusOr<std::unique_ptr<Pager<v1::Workspace>>> NewWorkspacesPager(
    const std::string& organization_id, const PageRequest& page) {
  ASSIGN_OR_RETURN(std::optional<PodioPageToken> token,
                   TokenOf(page.page_token, "workspaces"));
  int64_t only = 0;
  if (!organization_id.empty()) {
    ASSIGN_OR_RETURN(only, ParseId(organization_id, "organization_id"));
  }
  return std::unique_ptr<Pager<v1::Workspace>>(
      std::make_unique<WorkspacesPager>(page, only, std::move(token)));
}

absl::StatusOr<std::unique_ptr<Pager<v1::RoleAssignment>>> NewAssignmentsPager(
    PageSizes* sizes, const RoleAssignmentFilter& filter,
    const PageRequest& page) {
  ASSIGN_OR_RETURN(std::optional<PodioPageToken> token,
                   TokenOf(page.page_token, "assignments"));
  int64_t only_org = 0, space_id = 0;
  if (!filter.workspace_id.empty()) {
    ASSIGN_OR_RETURN(space_id, ParseId(filter.workspace_id, "workspace_id"));
  } else if (!filter.organization_id.empty()) {
    ASSIGN_OR_RETURN(only_org,
                     ParseId(filter.organization_id, "organization_id"));
  }
  return std::unique_ptr<Pager<v1::RoleAssignment>>(
      std::make_unique<AssignmentsPager>(sizes, page, filter, only_org,
                                         space_id, std::move(token)));
}

}  // namespace unified::podio
