#include "connectors/podio/podio_connector.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/json.h"
#include "connectors/common/listing_driver.h"
#include "connectors/common/status_macros.h"
#include "connectors/podio/listings.h"
#include "connectors/podio/mappers.h"
#include "connectors/podio/podio_errors.h"

namespace unified::podio {
namespace {

class PodioConnector final : public DirectoryConnector {
 public:
  PodioConnector(PodioClient* client, const PodioConnectorOptions& options)
      : client_(client), sizes_(options), ahead_(options.ahead) {}

  std::string provider() const override { return "podio"; }

  absl::StatusOr<v1::User> GetMe(CallContext& ctx,
                                 bool include_remote_data) override {
    ASSIGN_OR_RETURN(json::Body status, client_->Get(ctx, "/user/status"));
    ASSIGN_OR_RETURN(v1::User me, MapUserStatus(status, include_remote_data));
    ASSIGN_OR_RETURN(json::Body orgs, client_->Get(ctx, "/org/"));
    RETURN_IF_ERROR(AddMemberships(orgs, &me));
    return me;
  }

  absl::StatusOr<v1::User> GetUser(CallContext& ctx, const std::string& user_id,
                                   const UserParts& parts) override {
    ASSIGN_OR_RETURN(int64_t uid, ParseId(user_id, "user_id"));
    ASSIGN_OR_RETURN(std::vector<SourceInfo> orgs, Orgs(ctx));
    ASSIGN_OR_RETURN(std::optional<v1::User> user,
                     MemberRecords(ctx, orgs, uid, parts.remote_data));
    if (!user) {
      return WithErrorInfo(
          absl::NotFoundError(absl::StrCat("user ", user_id, " not found")),
          "USER_NOT_FOUND");
    }
    if (!parts.workspaces) return *user;
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
    ASSIGN_OR_RETURN(std::vector<SourceInfo> orgs, Orgs(ctx));
    const int size = sizes_.Size(PagedRoute::kOrgMembers, 500);
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

  absl::StatusOr<v1::Organization> GetOrganization(
      CallContext& ctx, const std::string& organization_id,
      bool include_remote_data) override {
    ASSIGN_OR_RETURN(int64_t id, ParseId(organization_id, "organization_id"));
    ASSIGN_OR_RETURN(json::Body org,
                     client_->Get(ctx, absl::StrCat("/org/", id)));
    return MapOrganization(org, include_remote_data);
  }

  absl::StatusOr<v1::Workspace> GetWorkspace(
      CallContext& ctx, const std::string& workspace_id,
      bool include_remote_data) override {
    ASSIGN_OR_RETURN(int64_t id, ParseId(workspace_id, "workspace_id"));
    ASSIGN_OR_RETURN(json::Body space,
                     client_->Get(ctx, absl::StrCat("/space/", id)));
    return MapSpace(space, v1::OrganizationRef(), include_remote_data);
  }

  absl::StatusOr<Page<v1::User>> ListUsers(CallContext& ctx,
                                           const UserFilter& filter,
                                           const PageRequest& page) override {
    return ListPager(pipeline(), ctx, NewUsersPager(&sizes_, filter, page, ctx.refusals));
  }

  std::unique_ptr<PageIterator<v1::User>> IterateUsers(
      CallContext& ctx, const UserFilter& filter,
      const PageRequest& start) override {
    return IteratePager(pipeline(), ctx, ahead_,
                        NewUsersPager(&sizes_, filter, start, ctx.refusals));
  }

  absl::StatusOr<Page<v1::Organization>> ListOrganizations(
      CallContext& ctx, const PageRequest& page) override {
    return ListPager(pipeline(), ctx, NewOrganizationsPager(page));
  }

  std::unique_ptr<PageIterator<v1::Organization>> IterateOrganizations(
      CallContext& ctx, const PageRequest& start) override {
    return IteratePager(pipeline(), ctx, ahead_, NewOrganizationsPager(start));
  }

  absl::StatusOr<Page<v1::Workspace>> ListWorkspaces(
      CallContext& ctx, const std::string& organization_id,
      const PageRequest& page) override {
    return ListPager(pipeline(), ctx,
                     NewWorkspacesPager(organization_id, page));
  }

  std::unique_ptr<PageIterator<v1::Workspace>> IterateWorkspaces(
      CallContext& ctx, const std::string& organization_id,
      const PageRequest& start) override {
    return IteratePager(pipeline(), ctx, ahead_,
                        NewWorkspacesPager(organization_id, start));
  }

  absl::StatusOr<Page<v1::RoleAssignment>> ListRoleAssignments(
      CallContext& ctx, const RoleAssignmentFilter& filter,
      const PageRequest& page) override {
    if (!filter.user_id.empty()) return UserAssignments(ctx, filter);
    return ListPager(pipeline(), ctx,
                     NewAssignmentsPager(&sizes_, filter, page));
  }

  std::unique_ptr<PageIterator<v1::RoleAssignment>> IterateRoleAssignments(
      CallContext& ctx, const RoleAssignmentFilter& filter,
      const PageRequest& start) override {
    if (!filter.user_id.empty()) {
      return DirectoryConnector::IterateRoleAssignments(ctx, filter, start);
    }
    return IteratePager(pipeline(), ctx, ahead_,
                        NewAssignmentsPager(&sizes_, filter, start));
  }

  std::vector<v1::Role> Roles() const override { return RoleCatalog(); }

  absl::StatusOr<HttpResponse> Proxy(CallContext& ctx,
                                     const HttpRequest& request,
                                     bool retry) override {
    return client_->Send(ctx, request, retry);
  }

 private:
  RequestPipeline* pipeline() { return client_->pipeline(); }

  // The account's organizations (GET /org/).
  absl::StatusOr<std::vector<SourceInfo>> Orgs(CallContext& ctx) {
    ASSIGN_OR_RETURN(json::Body orgs, client_->Get(ctx, OrgsPath(0)));
    return ReadOrgs(0, orgs);
  }

  absl::StatusOr<Page<v1::RoleAssignment>> UserAssignments(
      CallContext& ctx, const RoleAssignmentFilter& filter) {
    ASSIGN_OR_RETURN(v1::User user, GetUser(ctx, filter.user_id, UserParts()));
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
  PageSizes sizes_;
  const ReadAheadOptions ahead_;
};

}  // namespace

std::unique_ptr<DirectoryConnector> NewPodioConnector(
    PodioClient* client, const PodioConnectorOptions& options) {
  return std::make_unique<PodioConnector>(client, options);
}

}  // namespace unified::podio
