#include "connectors/podio/podio_connector.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/error_details.h"
#include "connectors/common/json.h"
#include "connectors/common/status_macros.h"
#include "connectors/podio/listing_queries.h"
#include "connectors/podio/mappers.h"
#include "connectors/podio/page_token.pb.h"
#include "connectors/podio/podio_errors.h"
#include "connectors/read_ahead_iterator.h"

namespace unified::podio {
namespace {

v1::OrganizationRef OrgRef(int64_t id, const std::string& name) {
  v1::OrganizationRef ref;
  ref.set_id(absl::StrCat(id));
  ref.set_name(name);
  return ref;
}

class PodioConnector final : public DirectoryConnector {
 public:
  PodioConnector(PodioClient* client, const PodioConnectorOptions& options)
      : client_(client),
        pager_(client, options),
        read_ahead_(options.read_ahead) {}

  std::string provider() const override { return "podio"; }

  absl::StatusOr<v1::User> GetMe(CallContext& ctx,
                                 bool include_remote_data) override {
    ASSIGN_OR_RETURN(json::Body status, client_->Get(ctx, "/user/status"));
    ASSIGN_OR_RETURN(v1::User me, MapUserStatus(status, include_remote_data));
    ASSIGN_OR_RETURN(json::Body orgs, client_->Get(ctx, "/org/"));
    RETURN_IF_ERROR(AddMemberships(orgs, &me));
    return me;
  }

  absl::StatusOr<Page<v1::User>> ListUsers(CallContext& ctx,
                                           const UserFilter& filter,
                                           const PageRequest& page) override {
    if (!filter.workspace_id.empty()) {
      return WorkspaceUsers(ctx, filter, page);
    }
    ASSIGN_OR_RETURN(const std::string extra, OrgMemberQuery(filter));
    ASSIGN_OR_RETURN(
        PodioPageToken token,
        OpenOrgListing(ctx, filter.organization_id, page.page_token, "users"));
    // One upstream page per organization, merged.
    std::vector<SourceBuffer> buffers = BuffersAt(token);
    Page<v1::User> result;
    RETURN_IF_ERROR(MergeRound(ctx, extra, page, page.limit, Keeps(filter),
                               token, buffers, &result.items));
    result.next_page_token = NextUsersToken(token);
    return result;
  }

  absl::StatusOr<v1::User> GetUser(CallContext& ctx, const std::string& user_id,
                                   bool include_remote_data) override {
    ASSIGN_OR_RETURN(int64_t uid, ParseId(user_id, "user_id"));
    ASSIGN_OR_RETURN(std::vector<SourceInfo> orgs, Orgs(ctx, ""));
    ASSIGN_OR_RETURN(std::optional<v1::User> user,
                     MemberRecords(ctx, orgs, uid, include_remote_data));
    if (!user) {
      return WithErrorInfo(
          absl::NotFoundError(absl::StrCat("user ", user_id, " not found")),
          "USER_NOT_FOUND");
    }
    // The workspace roles, from each organization the user is a member of.
    const std::vector<v1::OrganizationRef> member_of(
        user->organizations().begin(), user->organizations().end());
    for (const v1::OrganizationRef& org : member_of) {
      ASSIGN_OR_RETURN(
          json::Body spaces,
          client_->Get(ctx, absl::StrCat("/org/", org.id(), "/member/", uid,
                                         "/space_member/")));
      ASSIGN_OR_RETURN(v1::User part, MapSpaceMemberships(spaces));
      MergeUser(part, &*user);
    }
    return *user;
  }

  // The member record of `uid` in each of `orgs`, merged (nullopt: a member
  // of none). A caller who is no organization admin gets PERMISSION_DENIED.
  absl::StatusOr<std::optional<v1::User>> MemberRecords(
      CallContext& ctx, const std::vector<SourceInfo>& orgs, int64_t uid,
      bool include_remote_data) {
    std::optional<v1::User> user;
    for (const SourceInfo& org : orgs) {
      absl::StatusOr<json::Body> member =
          client_->Get(ctx, absl::StrCat("/org/", org.id, "/member/", uid));
      if (member.status().code() == absl::StatusCode::kNotFound) continue;
      if (!member.ok()) return member.status();
      ASSIGN_OR_RETURN(
          v1::User mapped,
          MapOrgMember(*member, OrgRef(org.id, org.name), include_remote_data));
      if (user) {
        MergeUser(mapped, &*user);
      } else {
        user = std::move(mapped);
      }
    }
    return user;
  }

  // The cheaper of two ways (docs/podio.md §3): each id's member record
  // in each organization (ids × organizations calls), or the organizations'
  // member listings until every id has been seen (a call per 500 members,
  // stopping early). Either way users come as the listings show them.
  absl::StatusOr<std::vector<std::optional<v1::User>>> BatchGetUsers(
      CallContext& ctx, const std::vector<std::string>& user_ids,
      bool include_remote_data) override {
    std::map<std::string, std::optional<v1::User>> found;
    for (const std::string& id : user_ids) {
      RETURN_IF_ERROR(ParseId(id, "user_ids").status());
      found[id] = std::nullopt;
    }
    ASSIGN_OR_RETURN(std::vector<SourceInfo> orgs, Orgs(ctx, ""));
    const int size = pager_.PageSize(PagedRoute::kOrgMembers, 500);
    int64_t listing_calls = 1;  // The listing opens with GET /org/.
    for (const SourceInfo& org : orgs) {
      listing_calls += std::max<int64_t>(1, (org.members + size - 1) / size);
    }
    const int64_t member_calls =
        static_cast<int64_t>(found.size()) * static_cast<int64_t>(orgs.size());
    bool listing = member_calls > listing_calls;
    if (!listing) {
      for (auto& [id, user] : found) {
        ASSIGN_OR_RETURN(const int64_t uid, ParseId(id, "user_ids"));
        absl::StatusOr<std::optional<v1::User>> records =
            MemberRecords(ctx, orgs, uid, include_remote_data);
        if (absl::IsPermissionDenied(records.status())) {
          listing = true;  // No organization admin: the contacts, then.
          break;
        }
        if (!records.ok()) return records.status();
        user = std::move(*records);
      }
    }
    if (listing) {
      for (auto& [id, user] : found) user.reset();
      size_t missing = found.size();
      PageRequest start;
      start.limit = size;
      start.include_remote_data = include_remote_data;
      // The iterator reads each member page once (the merge across
      // organizations included); pages read ahead past the last id found
      // are the only waste.
      std::unique_ptr<PageIterator<v1::User>> pages =
          IterateUsers(ctx, UserFilter(), start);
      Page<v1::User> users;
      while (missing > 0 && pages->Next(&users)) {
        for (v1::User& u : users.items) {
          auto it = found.find(u.id());
          if (it == found.end() || it->second) continue;
          it->second = std::move(u);
          --missing;
        }
      }
      if (missing > 0) RETURN_IF_ERROR(pages->status());
    }
    std::vector<std::optional<v1::User>> out;
    out.reserve(user_ids.size());
    for (const std::string& id : user_ids) out.push_back(found[id]);
    return out;
  }

  absl::StatusOr<Page<v1::Organization>> ListOrganizations(
      CallContext& ctx, const PageRequest& page) override {
    PodioPageToken token;
    if (!page.page_token.empty()) {
      ASSIGN_OR_RETURN(token, DecodeToken(page.page_token, "orgs"));
    }
    ASSIGN_OR_RETURN(json::Body orgs, client_->Get(ctx, "/org/"));
    ASSIGN_OR_RETURN(rapidjson::Value::ConstArray rows, ListOf(orgs, "/org/"));
    Page<v1::Organization> result;
    const int64_t n = rows.Size();
    result.total_size = n;  // GET /org/ answers the whole list.
    int64_t i = token.position();
    for (; i < n && static_cast<int>(result.items.size()) < page.limit; ++i) {
      ASSIGN_OR_RETURN(
          v1::Organization org,
          MapOrganization(rows[static_cast<rapidjson::SizeType>(i)],
                          page.include_remote_data));
      result.items.push_back(std::move(org));
    }
    if (i < n) {
      token.set_position(i);
      result.next_page_token = EncodeToken(token, "orgs");
    }
    return result;
  }

  absl::StatusOr<v1::Organization> GetOrganization(
      CallContext& ctx, const std::string& organization_id,
      bool include_remote_data) override {
    ASSIGN_OR_RETURN(int64_t id, ParseId(organization_id, "organization_id"));
    ASSIGN_OR_RETURN(json::Body org,
                     client_->Get(ctx, absl::StrCat("/org/", id)));
    return MapOrganization(org, include_remote_data);
  }

  absl::StatusOr<Page<v1::Workspace>> ListWorkspaces(
      CallContext& ctx, const std::string& organization_id,
      const PageRequest& page) override {
    ASSIGN_OR_RETURN(
        PodioPageToken token,
        OpenOrgListing(ctx, organization_id, page.page_token, "workspaces"));
    // Each organization's spaces in turn; an organization's offset is the
    // next space of its list.
    Page<v1::Workspace> result;
    RETURN_IF_ERROR(ReadSources(
        &token, page.limit,
        [&] { return static_cast<int>(result.items.size()); },
        [&](PageSource& source, int room) -> absl::StatusOr<bool> {
          ASSIGN_OR_RETURN(json::Body spaces,
                           client_->Get(ctx, SpacesUrl(source.id())));
          ASSIGN_OR_RETURN(rapidjson::Value::ConstArray rows,
                           ListOf(spaces, "organization spaces"));
          const v1::OrganizationRef ref = OrgRef(source.id(), source.name());
          int64_t offset = source.offset();
          const int64_t n = rows.Size();
          for (; offset < n && room > 0; ++offset, --room) {
            ASSIGN_OR_RETURN(
                v1::Workspace ws,
                MapSpace(rows[static_cast<rapidjson::SizeType>(offset)], ref,
                         page.include_remote_data));
            result.items.push_back(std::move(ws));
          }
          source.set_offset(offset);
          // One organization's space list comes whole: its size is the
          // listing's total. Across organizations it would take them all.
          if (token.sources_size() == 1) result.total_size = n;
          return offset >= n;
        }));
    if (token.position() < token.sources_size()) {
      result.next_page_token = EncodeToken(token, "workspaces");
    }
    return result;
  }

  absl::StatusOr<v1::Workspace> GetWorkspace(
      CallContext& ctx, const std::string& workspace_id,
      bool include_remote_data) override {
    ASSIGN_OR_RETURN(int64_t id, ParseId(workspace_id, "workspace_id"));
    ASSIGN_OR_RETURN(json::Body space,
                     client_->Get(ctx, absl::StrCat("/space/", id)));
    return MapSpace(space, v1::OrganizationRef(), include_remote_data);
  }

  absl::StatusOr<Page<v1::RoleAssignment>> ListRoleAssignments(
      CallContext& ctx, const RoleAssignmentFilter& filter,
      const PageRequest& page) override {
    if (!filter.user_id.empty()) return UserAssignments(ctx, filter);
    PodioPageToken token;
    if (page.page_token.empty()) {
      if (!filter.workspace_id.empty()) {
        ASSIGN_OR_RETURN(
            *token.add_sources(),
            WorkspaceSource(ctx, filter.workspace_id, filter.organization_id));
        token.set_phase(1);
      } else {
        RETURN_IF_ERROR(AddOrgSources(ctx, filter.organization_id, &token));
      }
    } else {
      ASSIGN_OR_RETURN(token, DecodeToken(page.page_token, "assignments"));
    }
    // Phase 0: each organization's member listing (organization roles);
    // phase 1: each workspace's (workspace roles).
    Page<v1::RoleAssignment> result;
    auto held = [&] { return static_cast<int>(result.items.size()); };
    while (held() < page.limit) {
      if (token.position() >= token.sources_size()) {
        if (token.phase() == 1) break;
        // Organization roles done: the workspaces of those organizations.
        PodioPageToken spaces_token;
        spaces_token.set_phase(1);
        for (const PageSource& org : token.sources()) {
          ASSIGN_OR_RETURN(json::Body spaces,
                           client_->Get(ctx, SpacesUrl(org.id())));
          ASSIGN_OR_RETURN(std::vector<SourceInfo> listed,
                           ReadSpaceList(spaces));
          for (const SourceInfo& space : listed) {
            PageSource* source = spaces_token.add_sources();
            source->set_id(space.id);
            source->set_name(space.name);
            source->set_expected(space.members);
          }
        }
        token = std::move(spaces_token);
        continue;
      }
      const bool org_phase = token.phase() == 0;
      RETURN_IF_ERROR(ReadSources(
          &token, page.limit, held,
          [&](PageSource& source, int room) -> absl::StatusOr<bool> {
            // Whole pages are asked (so the next ones can be named ahead,
            // see PlanAssignments), and `room` rows taken.
            ASSIGN_OR_RETURN(OffsetPager::Fetched fetched,
                             pager_.Fetch(ctx,
                                          org_phase ? PagedRoute::kOrgMembers
                                                    : PagedRoute::kSpaceMembers,
                                          page.limit, [&](int limit) {
                                            return AssignmentsUrl(
                                                org_phase, source.id(), limit,
                                                source.offset());
                                          }));
            ASSIGN_OR_RETURN(rapidjson::Value::ConstArray rows,
                             ListOf(fetched.doc, "members"));
            rapidjson::SizeType used = 0;
            for (; used < rows.Size() && room > 0; ++used) {
              ASSIGN_OR_RETURN(
                  std::optional<v1::RoleAssignment> a,
                  MapMemberAssignment(rows[used],
                                      org_phase ? v1::ROLE_SCOPE_ORGANIZATION
                                                : v1::ROLE_SCOPE_WORKSPACE,
                                      source.id(), source.name()));
              if (a) {
                result.items.push_back(std::move(*a));
                --room;
              }
            }
            source.set_offset(source.offset() + used);
            return used == rows.Size() &&
                   static_cast<int>(rows.Size()) < fetched.asked;
          }));
    }
    const bool finished =
        token.phase() == 1 && token.position() >= token.sources_size();
    if (!finished) result.next_page_token = EncodeToken(token, "assignments");
    return result;
  }

  std::vector<v1::Role> Roles() const override { return RoleCatalog(); }

  std::unique_ptr<PageIterator<v1::User>> IterateUsers(
      CallContext& ctx, const UserFilter& filter,
      const PageRequest& start) override {
    if (filter.workspace_id.empty()) {
      return std::make_unique<OrgUsers>(this, ctx, filter, start);
    }
    return std::make_unique<ReadAheadIterator<v1::User>>(
        client_->pipeline(), ctx, read_ahead_,
        [this, filter](CallContext& own, const PageRequest& page) {
          return ListUsers(own, filter, page);
        },
        [this, filter](const PageRequest& page) {
          return PlanWorkspaceUsers(filter, page);
        },
        start);
  }

  std::unique_ptr<PageIterator<v1::Workspace>> IterateWorkspaces(
      CallContext& ctx, const std::string& organization_id,
      const PageRequest& start) override {
    return std::make_unique<ReadAheadIterator<v1::Workspace>>(
        client_->pipeline(), ctx, read_ahead_,
        [this, organization_id](CallContext& own, const PageRequest& page) {
          return ListWorkspaces(own, organization_id, page);
        },
        [this](const PageRequest& page) { return PlanWorkspaces(page); },
        start);
  }

  std::unique_ptr<PageIterator<v1::RoleAssignment>> IterateRoleAssignments(
      CallContext& ctx, const RoleAssignmentFilter& filter,
      const PageRequest& start) override {
    return std::make_unique<ReadAheadIterator<v1::RoleAssignment>>(
        client_->pipeline(), ctx, read_ahead_,
        [this, filter](CallContext& own, const PageRequest& page) {
          return ListRoleAssignments(own, filter, page);
        },
        [this, filter](const PageRequest& page) {
          return PlanAssignments(filter, page);
        },
        start);
  }

  absl::StatusOr<HttpResponse> Proxy(CallContext& ctx,
                                     const HttpRequest& request,
                                     bool retry) override {
    return client_->Send(ctx, request, retry);
  }

 private:
  // The listing source for one workspace (GET /space/{id}), checked to be
  // in `organization_id` when that is set.
  absl::StatusOr<PageSource> WorkspaceSource(
      CallContext& ctx, const std::string& workspace_id,
      const std::string& organization_id) {
    ASSIGN_OR_RETURN(int64_t sid, ParseId(workspace_id, "workspace_id"));
    ASSIGN_OR_RETURN(json::Body space,
                     client_->Get(ctx, absl::StrCat("/space/", sid)));
    ASSIGN_OR_RETURN(v1::Workspace ws,
                     MapSpace(space, v1::OrganizationRef(), false));
    if (!organization_id.empty() && ws.organization().id() != organization_id) {
      return BadArgument("the workspace is not in that organization",
                         "WORKSPACE_NOT_IN_ORGANIZATION");
    }
    PageSource source;
    source.set_id(sid);
    source.set_name(ws.name());
    int64_t org_id = 0;
    (void)absl::SimpleAtoi(ws.organization().id(), &org_id);
    source.set_parent_id(org_id);
    source.set_parent_name(ws.organization().name());
    source.set_expected(ws.member_count());
    return source;
  }

  static bool AllDone(const PodioPageToken& token) {
    for (const PageSource& source : token.sources()) {
      if (!source.done()) return false;
    }
    return true;
  }

  // The token after an organization listing page; "" when it was the last.
  static std::string NextUsersToken(const PodioPageToken& token) {
    return AllDone(token) ? "" : EncodeToken(token, "users");
  }

  // Where a page of a listing over organizations (`kind`) starts:
  // `page_token`'s sources, or for the first page the organizations to read
  // (see Orgs()).
  absl::StatusOr<PodioPageToken> OpenOrgListing(
      CallContext& ctx, const std::string& organization_id,
      const std::string& page_token, absl::string_view kind) {
    PodioPageToken token;
    if (page_token.empty()) {
      RETURN_IF_ERROR(AddOrgSources(ctx, organization_id, &token));
    } else {
      ASSIGN_OR_RETURN(token, DecodeToken(page_token, kind));
    }
    return token;
  }

  // One round of the organization merge: each source whose buffer ran dry
  // reads its next page, then at most `limit` users, those `keep` takes,
  // merge into `out` (MergeByName stops where a buffer runs dry again).
  absl::Status MergeRound(CallContext& ctx, const std::string& extra,
                          const PageRequest& page, int limit,
                          const std::function<bool(const v1::User&)>& keep,
                          PodioPageToken& token,
                          std::vector<SourceBuffer>& buffers,
                          std::vector<v1::User>* out) {
    for (int i = 0; i < token.sources_size(); ++i) {
      if (!NeedsPage(token.sources(i), buffers[i])) continue;
      RETURN_IF_ERROR(
          FillSource(ctx, extra, page, *token.mutable_sources(i), buffers[i]));
    }
    for (v1::User& user : MergeByName(&token, &buffers, limit, keep)) {
      out->push_back(std::move(user));
    }
    return absl::OkStatus();
  }

  // Reads organization `source`'s next upstream page (at buffer.read) into
  // `buffer`: the members route, or, for an account that is no
  // organization admin (known from the source's first page), its contacts.
  absl::Status FillSource(CallContext& ctx, const std::string& extra,
                          const PageRequest& page, PageSource& source,
                          SourceBuffer& buffer) {
    absl::StatusOr<OffsetPager::Fetched> fetched =
        absl::UnknownError("not fetched");
    if (!source.contacts()) {
      fetched = pager_.Fetch(
          ctx, PagedRoute::kOrgMembers, page.limit, [&](int limit) {
            return OrgMembersUrl(source.id(), limit, buffer.read, extra);
          });
      if (fetched.status().code() == absl::StatusCode::kPermissionDenied) {
        if (source.members() || buffer.read > 0) {
          // The members route answered earlier in this listing: switching
          // to contacts now would silently drop what only members show
          // (pending members, roles). Fail; the cursor resumes here.
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
        if (!absl::StrContains(extra, "&member_type=") &&
            absl::StartsWith(extra, "&sort_by=name") &&
            !absl::StrContains(extra, "&sort_desc=")) {
          // Not an organization admin: the organization's contacts are the
          // members this account can see (active ones, same name order),
          // for the whole listing. They carry no roles, so a role filter
          // cannot be served from them; e-mail, status and search filters
          // are applied to each contact here (Keeps).
          source.set_contacts(true);
        }
      } else if (fetched.ok()) {
        source.set_members(true);
      }
    }
    if (source.contacts()) {
      fetched = pager_.Fetch(
          ctx, PagedRoute::kOrgContacts, page.limit, [&](int limit) {
            return ContactsUrl(source.id(), limit, buffer.read);
          });
    }
    if (!fetched.ok()) return fetched.status();
    ASSIGN_OR_RETURN(rapidjson::Value::ConstArray rows,
                     ListOf(fetched->doc, "organization members"));
    const v1::OrganizationRef ref = OrgRef(source.id(), source.name());
    for (const rapidjson::Value& member : rows) {
      ASSIGN_OR_RETURN(
          v1::User user,
          source.contacts()
              ? MapOrgContact(member, ref, page.include_remote_data)
              : MapOrgMember(member, ref, page.include_remote_data));
      buffer.users.push_back(std::move(user));
    }
    buffer.fetched = true;
    buffer.read += rows.Size();
    buffer.more = static_cast<int>(rows.Size()) >= fetched->asked;
    if (!buffer.more && buffer.users.empty()) source.set_done(true);
    return absl::OkStatus();
  }

  // The organization listing page after page, its upstream pages kept
  // across pages: each is read once, and every source's next pages are
  // known (docs/streaming.md). Pages and tokens are those of ListUsers.
  class OrgUsers final : public PageIterator<v1::User> {
   public:
    OrgUsers(PodioConnector* connector, const CallContext& ctx,
             UserFilter filter, PageRequest start)
        : connector_(connector),
          ctx_(ctx),
          ahead_(connector->client_->pipeline(), ctx, connector->read_ahead_),
          filter_(std::move(filter)),
          start_(std::move(start)) {
      ctx_.read_ahead = &ahead_;
    }

    bool Next(Page<v1::User>* page) override {
      if (done_) return false;
      absl::Status read = Read(page);
      if (!read.ok()) {
        status_ = read;
        done_ = true;
        return false;
      }
      done_ = page->next_page_token.empty();
      return true;
    }
    absl::Status status() const override { return status_; }
    int64_t wasted_calls() const override { return ahead_.wasted(); }

   private:
    absl::Status Read(Page<v1::User>* page) {
      if (!opened_) {
        ASSIGN_OR_RETURN(extra_, OrgMemberQuery(filter_));
        ASSIGN_OR_RETURN(
            token_, connector_->OpenOrgListing(ctx_, filter_.organization_id,
                                               start_.page_token, "users"));
        buffers_ = BuffersAt(token_);
        opened_ = true;
      }
      const auto keep = Keeps(filter_);
      page->items.clear();
      while (static_cast<int>(page->items.size()) < start_.limit &&
             !AllDone(token_)) {
        ahead_.Plan(
            connector_->PlanMerge(token_, buffers_, extra_, start_.limit));
        RETURN_IF_ERROR(connector_->MergeRound(
            ctx_, extra_, start_,
            start_.limit - static_cast<int>(page->items.size()), keep, token_,
            buffers_, &page->items));
      }
      page->next_page_token = NextUsersToken(token_);
      return absl::OkStatus();
    }

    PodioConnector* const connector_;
    CallContext ctx_;
    ReadAhead ahead_;
    const UserFilter filter_;
    const PageRequest start_;
    bool opened_ = false;
    bool done_ = false;
    absl::Status status_;
    std::string extra_;
    PodioPageToken token_;
    std::vector<SourceBuffer> buffers_;
  };

  // Reading ahead (docs/streaming.md, "What is read ahead"). `url(offset)`
  // is a page of `source`: the one at its offset is next; the pages after
  // it follow while the source's expected count (when `counted`) says they
  // exist, or, without a count, at most kBlindPages of them, so that a
  // listing's reads past its end stay within kBlindPages.
  static constexpr int kBlindPages = 2;
  static constexpr size_t kMaxPlan = 16;
  static void PlanPages(const PageSource& source, int page_size, bool counted,
                        const std::function<std::string(int64_t)>& url,
                        std::vector<std::string>* out) {
    out->push_back(url(source.offset()));
    for (int64_t k = 1; out->size() < kMaxPlan; ++k) {
      const int64_t offset = source.offset() + k * page_size;
      if (counted && source.expected() > 0 ? offset > source.expected()
                                           : k > kBlindPages) {
        break;
      }
      out->push_back(url(offset));
    }
  }

  std::vector<std::string> PlanWorkspaceUsers(const UserFilter& filter,
                                              const PageRequest& page) const {
    std::vector<std::string> out;
    if (page.page_token.empty()) return out;  // GET /space/{id} comes first.
    absl::StatusOr<PodioPageToken> token =
        DecodeToken(page.page_token, "users");
    absl::StatusOr<std::string> member_type = SpaceMemberType(filter);
    if (!token.ok() || !member_type.ok() || token->sources_size() != 1) {
      return out;
    }
    const std::string search = SearchOf(filter);
    const PageSource& source = token->sources(0);
    const int size = pager_.PageSize(PagedRoute::kSpaceMembers, page.limit);
    PlanPages(
        source, size, member_type->empty() && search.empty(),
        [&](int64_t offset) {
          return SpaceMembersUrl(source.id(), size, offset, *member_type,
                                 search);
        },
        &out);
    return out;
  }

  // The organization listing's next upstream pages: each source's from
  // where its buffer was read to, round-robin (the merge takes from all),
  // as far as its member count says (a single source without one: at most
  // kBlindPages more; several: only the next page of each), and only the
  // next one until the source has answered once.
  std::vector<std::string> PlanMerge(const PodioPageToken& token,
                                     const std::vector<SourceBuffer>& buffers,
                                     const std::string& extra, int want) const {
    std::vector<int> live;
    for (int i = 0; i < token.sources_size(); ++i) {
      const PageSource& source = token.sources(i);
      if (!source.done() && (buffers[i].more || !buffers[i].fetched)) {
        live.push_back(i);
      }
    }
    std::vector<std::string> out;
    for (int64_t k = 0; out.size() < kMaxPlan; ++k) {
      bool any = false;
      for (int i : live) {
        const PageSource& source = token.sources(i);
        // Contacts hide inactive members: the count may overstate them.
        const bool counted = !source.contacts() && extra == "&sort_by=name" &&
                             source.expected() > 0;
        const int size =
            pager_.PageSize(source.contacts() ? PagedRoute::kOrgContacts
                                              : PagedRoute::kOrgMembers,
                            want);
        const int64_t offset = buffers[i].read + k * size;
        // Nothing ahead of a source's first answer: whether the listing
        // works at all (rights, rate limit) is known before spending more.
        if (k > 0 && (!buffers[i].fetched ||
                      (counted ? offset > source.expected()
                               : live.size() > 1 || k > kBlindPages))) {
          continue;
        }
        any = true;
        out.push_back(source.contacts()
                          ? ContactsUrl(source.id(), size, offset)
                          : OrgMembersUrl(source.id(), size, offset, extra));
        if (out.size() >= kMaxPlan) break;
      }
      if (!any) break;
    }
    return out;
  }

  std::vector<std::string> PlanWorkspaces(const PageRequest& page) const {
    std::vector<std::string> out;
    if (page.page_token.empty()) return out;
    absl::StatusOr<PodioPageToken> token =
        DecodeToken(page.page_token, "workspaces");
    if (!token.ok()) return out;
    for (int64_t i = token->position();
         i < token->sources_size() && out.size() < kMaxPlan; ++i) {
      out.push_back(SpacesUrl(token->sources(static_cast<int>(i)).id()));
    }
    return out;
  }

  std::vector<std::string> PlanAssignments(const RoleAssignmentFilter& filter,
                                           const PageRequest& page) const {
    std::vector<std::string> out;
    if (!filter.user_id.empty() || page.page_token.empty()) return out;
    absl::StatusOr<PodioPageToken> token =
        DecodeToken(page.page_token, "assignments");
    if (!token.ok()) return out;
    const bool org_phase = token->phase() == 0;
    const int size = pager_.PageSize(
        org_phase ? PagedRoute::kOrgMembers : PagedRoute::kSpaceMembers,
        page.limit);
    for (int64_t i = token->position();
         i < token->sources_size() && out.size() < kMaxPlan; ++i) {
      const PageSource& source = token->sources(static_cast<int>(i));
      auto url = [&](int64_t offset) {
        return AssignmentsUrl(org_phase, source.id(), size, offset);
      };
      if (i == token->position()) {
        PlanPages(source, size, /*counted=*/true, url, &out);
      } else {
        // Where a later source starts depends on the page boundary: only
        // its first page is certain.
        out.push_back(url(0));
      }
    }
    if (org_phase) {
      for (const PageSource& org : token->sources()) {
        if (out.size() >= kMaxPlan) break;
        out.push_back(SpacesUrl(org.id()));
      }
    }
    return out;
  }

  // Adds a listing source per organization to read (see Orgs()).
  absl::Status AddOrgSources(CallContext& ctx, const std::string& only,
                             PodioPageToken* token) {
    ASSIGN_OR_RETURN(std::vector<SourceInfo> orgs, Orgs(ctx, only));
    for (const SourceInfo& org : orgs) {
      PageSource* source = token->add_sources();
      source->set_id(org.id);
      source->set_name(org.name);
      source->set_expected(org.members);
    }
    return absl::OkStatus();
  }

  // The organizations to read: one (checked to exist) or all of GET /org/.
  absl::StatusOr<std::vector<SourceInfo>> Orgs(CallContext& ctx,
                                               const std::string& only) {
    if (!only.empty()) {
      ASSIGN_OR_RETURN(int64_t id, ParseId(only, "organization_id"));
      ASSIGN_OR_RETURN(json::Body org,
                       client_->Get(ctx, absl::StrCat("/org/", id)));
      ASSIGN_OR_RETURN(v1::Organization mapped, MapOrganization(org, false));
      return std::vector<SourceInfo>{
          {id, mapped.name(), mapped.member_count()}};
    }
    ASSIGN_OR_RETURN(json::Body orgs, client_->Get(ctx, "/org/"));
    return ReadOrgList(orgs);
  }

  absl::StatusOr<Page<v1::User>> WorkspaceUsers(CallContext& ctx,
                                                const UserFilter& filter,
                                                const PageRequest& page) {
    ASSIGN_OR_RETURN(const std::string member_type, SpaceMemberType(filter));
    PodioPageToken token;
    if (page.page_token.empty()) {
      ASSIGN_OR_RETURN(
          *token.add_sources(),
          WorkspaceSource(ctx, filter.workspace_id, filter.organization_id));
    } else {
      ASSIGN_OR_RETURN(token, DecodeToken(page.page_token, "users"));
      if (token.sources_size() != 1) {
        return BadArgument("cursor does not belong to this listing",
                           "INVALID_CURSOR");
      }
    }
    PageSource& source = *token.mutable_sources(0);
    const std::string search = SearchOf(filter);
    const std::function<bool(const v1::User&)> keeps = Keeps(filter);
    ASSIGN_OR_RETURN(OffsetPager::Fetched fetched,
                     pager_.Fetch(ctx, PagedRoute::kSpaceMembers, page.limit,
                                  [&](int limit) {
                                    return SpaceMembersUrl(source.id(), limit,
                                                           source.offset(),
                                                           member_type, search);
                                  }));
    ASSIGN_OR_RETURN(rapidjson::Value::ConstArray rows,
                     ListOf(fetched.doc, "workspace members"));
    v1::WorkspaceRef ws;
    ws.set_id(absl::StrCat(source.id()));
    ws.set_name(source.name());
    Page<v1::User> result;
    for (const rapidjson::Value& member : rows) {
      ASSIGN_OR_RETURN(v1::User user,
                       MapSpaceMemberV2(member, ws, page.include_remote_data));
      if (source.parent_id() != 0) {
        *user.add_organizations() =
            OrgRef(source.parent_id(), source.parent_name());
      }
      if (!keeps(user)) continue;
      result.items.push_back(std::move(user));
    }
    source.set_offset(source.offset() + rows.Size());
    if (static_cast<int>(rows.Size()) >= fetched.asked) {
      result.next_page_token = EncodeToken(token, "users");
    }
    return result;
  }

  absl::StatusOr<Page<v1::RoleAssignment>> UserAssignments(
      CallContext& ctx, const RoleAssignmentFilter& filter) {
    ASSIGN_OR_RETURN(v1::User user, GetUser(ctx, filter.user_id, false));
    Page<v1::RoleAssignment> result;
    for (const v1::ScopedRole& role : user.roles()) {
      if (!filter.workspace_id.empty() &&
          (role.scope() != v1::ROLE_SCOPE_WORKSPACE ||
           role.scope_id() != filter.workspace_id)) {
        continue;
      }
      if (!filter.organization_id.empty() &&
          role.scope() == v1::ROLE_SCOPE_ORGANIZATION &&
          role.scope_id() != filter.organization_id) {
        continue;
      }
      v1::RoleAssignment a;
      a.set_user_id(user.id());
      a.set_role_id(role.role_id());
      a.set_scope(role.scope());
      a.set_scope_id(role.scope_id());
      a.set_id(absl::StrCat(role.scope_id(), ":", user.id()));
      result.items.push_back(std::move(a));
    }
    return result;
  }

  PodioClient* const client_;
  OffsetPager pager_;
  const ReadAheadOptions read_ahead_;
};

}  // namespace

std::unique_ptr<DirectoryConnector> NewPodioConnector(
    PodioClient* client, const PodioConnectorOptions& options) {
  return std::make_unique<PodioConnector>(client, options);
}

}  // namespace unified::podio
