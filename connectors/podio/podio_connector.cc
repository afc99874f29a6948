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
#include "connectors/podio/mappers.h"
#include "connectors/podio/page_token.pb.h"
#include "connectors/podio/podio_errors.h"

namespace unified::podio {
namespace {

constexpr int kTokenVersion = 1;

absl::Status BadArgument(absl::string_view message, absl::string_view reason) {
  return WithErrorInfo(absl::InvalidArgumentError(message), reason);
}

absl::StatusOr<PodioPageToken> DecodeToken(const std::string& bytes,
                                           absl::string_view kind) {
  PodioPageToken token;
  if (!token.ParseFromString(bytes) || token.version() != kTokenVersion ||
      token.kind() != kind) {
    return BadArgument("cursor does not belong to this listing",
                       "INVALID_CURSOR");
  }
  return token;
}

std::string EncodeToken(PodioPageToken token, absl::string_view kind) {
  token.set_version(kTokenVersion);
  token.set_kind(std::string(kind));
  return token.SerializeAsString();
}

// Percent-encodes a query value.
std::string Escape(absl::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

struct OrgInfo {
  int64_t id;
  std::string name;
};

v1::OrganizationRef OrgRef(int64_t id, const std::string& name) {
  v1::OrganizationRef ref;
  ref.set_id(absl::StrCat(id));
  ref.set_name(name);
  return ref;
}

bool EmailMatches(const v1::User& user, const std::string& lowered) {
  for (const v1::Email& e : user.emails()) {
    if (absl::AsciiStrToLower(e.email()) == lowered) return true;
  }
  return false;
}

class PodioConnector final : public DirectoryConnector {
 public:
  PodioConnector(PodioClient* client, PodioConnectorOptions options)
      : client_(client), options_(options) {
    for (int i = 0; i < kPagedRoutes; ++i) {
      page_size_[i] = std::max(options_.min_page_size, options_.page_size[i]);
    }
  }

  std::string provider() const override { return "podio"; }

  absl::StatusOr<v1::User> GetMe(CallContext& ctx,
                                 bool include_remote_data) override {
    ASSIGN_OR_RETURN(json::Body status, client_->Get(ctx, "/user/status"));
    ASSIGN_OR_RETURN(v1::User me, MapUserStatus(status, include_remote_data));
    ASSIGN_OR_RETURN(json::Body orgs, client_->Get(ctx, "/org/"));
    if (!orgs.IsArray()) return MalformedList("/org/");
    for (const auto& org : orgs.GetArray()) {
      auto id = json::Int64(org, "org_id");
      if (!id) continue;
      const v1::OrganizationRef ref = OrgRef(*id, json::StringOr(org, "name"));
      *me.add_organizations() = ref;
      if (auto role = json::String(org, "role")) {
        if (auto r =
                MakeScopedRole(v1::ROLE_SCOPE_ORGANIZATION, *role, ref.id())) {
          *me.add_roles() = *r;
        }
      }
      const rapidjson::Value* spaces = json::Find(org, "spaces");
      if (spaces == nullptr || !spaces->IsArray()) continue;
      for (const auto& space : spaces->GetArray()) {
        auto space_id = json::Int64(space, "space_id");
        if (!space_id) continue;
        v1::WorkspaceRef ws;
        ws.set_id(absl::StrCat(*space_id));
        ws.set_name(json::StringOr(space, "name"));
        *me.add_workspaces() = ws;
        if (auto role = json::String(space, "role")) {
          if (auto r =
                  MakeScopedRole(v1::ROLE_SCOPE_WORKSPACE, *role, ws.id())) {
            *me.add_roles() = *r;
          }
        }
      }
    }
    return me;
  }

  absl::StatusOr<Page<v1::User>> ListUsers(CallContext& ctx,
                                           const UserFilter& filter,
                                           const PageRequest& page) override {
    if (!filter.workspace_id.empty()) {
      return WorkspaceUsers(ctx, filter, page);
    }
    ASSIGN_OR_RETURN(const std::string extra, OrgMemberQuery(filter));
    PodioPageToken token;
    if (page.page_token.empty()) {
      RETURN_IF_ERROR(AddOrgSources(ctx, filter.organization_id, &token));
    } else {
      ASSIGN_OR_RETURN(token, DecodeToken(page.page_token, "users"));
    }
    const std::string email = absl::AsciiStrToLower(filter.email);

    // One buffered upstream page per organization.
    struct Buffer {
      std::deque<v1::User> users;
      bool more = false;  // Upstream has rows beyond this buffer.
    };
    std::vector<Buffer> buffers(token.sources_size());
    for (int i = 0; i < token.sources_size(); ++i) {
      PageSource& source = *token.mutable_sources(i);
      if (source.done()) continue;
      absl::StatusOr<json::Body> fetched = absl::UnknownError("not fetched");
      int asked = 0;
      if (!source.contacts()) {
        fetched = GetPage(
            ctx, PagedRoute::kOrgMembers, page.limit,
            [&](int limit) {
              return OrgMembersUrl(source.id(), limit, source.offset(), extra);
            },
            &asked);
        if (fetched.status().code() == absl::StatusCode::kPermissionDenied) {
          if (source.members() || source.offset() > 0) {
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
          if (extra == "&sort_by=name") {
            // Not an organization admin, known from the source's first
            // page: the organization's contacts are the members this
            // account can see (active ones, same name order), for the
            // whole listing.
            source.set_contacts(true);
          }
        } else if (fetched.ok()) {
          source.set_members(true);
        }
      }
      if (source.contacts()) {
        fetched = GetPage(
            ctx, PagedRoute::kOrgContacts, page.limit,
            [&](int limit) {
              return absl::StrCat("/contact/org/", source.id(),
                                  "?limit=", limit, "&offset=", source.offset(),
                                  "&type=full&exclude_self=0");
            },
            &asked);
      }
      if (!fetched.ok()) return fetched.status();
      const json::Body& doc = *fetched;
      if (!doc.IsArray()) return MalformedList("organization members");
      const v1::OrganizationRef ref = OrgRef(source.id(), source.name());
      for (const auto& member : doc.GetArray()) {
        ASSIGN_OR_RETURN(
            v1::User user,
            source.contacts()
                ? MapOrgContact(member, ref, page.include_remote_data)
                : MapOrgMember(member, ref, page.include_remote_data));
        buffers[i].users.push_back(std::move(user));
      }
      buffers[i].more = static_cast<int>(doc.Size()) >= asked;
      if (!buffers[i].more && buffers[i].users.empty()) source.set_done(true);
    }

    Page<v1::User> result;
    while (static_cast<int>(result.items.size()) < page.limit) {
      // Merging needs every live source's head: stop where one ran dry.
      bool blocked = false, any = false;
      UserOrderKey best;
      for (int i = 0; i < token.sources_size(); ++i) {
        if (token.sources(i).done()) continue;
        if (buffers[i].users.empty()) {
          blocked = true;
          break;
        }
        const UserOrderKey key = OrderKeyOf(buffers[i].users.front());
        if (!any || key < best) best = key;
        any = true;
      }
      if (blocked || !any) break;
      v1::User merged;
      bool first = true;
      for (int i = 0; i < token.sources_size(); ++i) {
        PageSource& source = *token.mutable_sources(i);
        if (source.done() || buffers[i].users.empty() ||
            !(OrderKeyOf(buffers[i].users.front()) == best)) {
          continue;
        }
        if (first) {
          merged = std::move(buffers[i].users.front());
          first = false;
        } else {
          MergeUser(buffers[i].users.front(), &merged);
        }
        buffers[i].users.pop_front();
        source.set_offset(source.offset() + 1);
        if (buffers[i].users.empty() && !buffers[i].more) source.set_done(true);
      }
      if (!email.empty() && !EmailMatches(merged, email)) continue;
      if (filter.status != v1::USER_STATUS_UNSPECIFIED &&
          merged.status() != filter.status) {
        continue;
      }
      result.items.push_back(std::move(merged));
    }
    bool all_done = true;
    for (const PageSource& source : token.sources()) all_done &= source.done();
    if (!all_done) result.next_page_token = EncodeToken(token, "users");
    return result;
  }

  std::string PredictNextUsersPageToken(
      const UserFilter& filter, const PageRequest& page) const override {
    // Only a single upstream list advances by exactly the page size.
    if (page.page_token.empty()) return "";
    absl::StatusOr<PodioPageToken> token =
        DecodeToken(page.page_token, "users");
    if (!token.ok() || token->sources_size() != 1 || token->sources(0).done()) {
      return "";
    }
    PageSource* source = token->mutable_sources(0);
    source->set_offset(source->offset() +
                       PageSize(source->contacts() ? PagedRoute::kOrgContacts
                                                   : PagedRoute::kOrgMembers,
                                page.limit));
    return EncodeToken(*token, "users");
  }

  void PrefetchUsersPage(CallContext& ctx, const UserFilter& filter,
                         const PageRequest& page) override {
    // Only organization listings of one organization are named in advance
    // (workspace listings are small: one upstream page per 500 members).
    if (!filter.workspace_id.empty() || page.page_token.empty()) return;
    absl::StatusOr<PodioPageToken> token =
        DecodeToken(page.page_token, "users");
    absl::StatusOr<std::string> extra = OrgMemberQuery(filter);
    if (!token.ok() || !extra.ok() || token->sources_size() != 1 ||
        token->sources(0).done() || token->sources(0).contacts()) {
      return;
    }
    client_->Prefetch(
        ctx, OrgMembersUrl(token->sources(0).id(),
                           PageSize(PagedRoute::kOrgMembers, page.limit),
                           token->sources(0).offset(), *extra));
  }

  absl::StatusOr<v1::User> GetUser(CallContext& ctx, const std::string& user_id,
                                   bool include_remote_data) override {
    ASSIGN_OR_RETURN(int64_t uid, ParseId(user_id, "user_id"));
    ASSIGN_OR_RETURN(std::vector<OrgInfo> orgs, Orgs(ctx, ""));
    std::optional<v1::User> user;
    for (const OrgInfo& org : orgs) {
      absl::StatusOr<json::Body> member =
          client_->Get(ctx, absl::StrCat("/org/", org.id, "/member/", uid));
      if (member.status().code() == absl::StatusCode::kNotFound) continue;
      if (!member.ok()) return member.status();
      const v1::OrganizationRef ref = OrgRef(org.id, org.name);
      ASSIGN_OR_RETURN(v1::User mapped,
                       MapOrgMember(*member, ref, include_remote_data));
      if (user) {
        MergeUser(mapped, &*user);
      } else {
        user = std::move(mapped);
      }
      ASSIGN_OR_RETURN(
          json::Body spaces,
          client_->Get(ctx, absl::StrCat("/org/", org.id, "/member/", uid,
                                         "/space_member/")));
      if (!spaces.IsArray()) return MalformedList("space memberships");
      for (const auto& m : spaces.GetArray()) {
        const rapidjson::Value* space = json::Find(m, "space");
        auto space_id = space ? json::Int64(*space, "space_id") : std::nullopt;
        if (!space_id) continue;
        v1::WorkspaceRef ws;
        ws.set_id(absl::StrCat(*space_id));
        ws.set_name(json::StringOr(*space, "name"));
        v1::User part;
        *part.add_workspaces() = ws;
        if (auto role = json::String(m, "role")) {
          if (auto r =
                  MakeScopedRole(v1::ROLE_SCOPE_WORKSPACE, *role, ws.id())) {
            *part.add_roles() = *r;
          }
        }
        MergeUser(part, &*user);
      }
    }
    if (!user) {
      return WithErrorInfo(
          absl::NotFoundError(absl::StrCat("user ", user_id, " not found")),
          "USER_NOT_FOUND");
    }
    return *user;
  }

  absl::StatusOr<Page<v1::Organization>> ListOrganizations(
      CallContext& ctx, const PageRequest& page) override {
    PodioPageToken token;
    if (!page.page_token.empty()) {
      ASSIGN_OR_RETURN(token, DecodeToken(page.page_token, "orgs"));
    }
    ASSIGN_OR_RETURN(json::Body orgs, client_->Get(ctx, "/org/"));
    if (!orgs.IsArray()) return MalformedList("/org/");
    Page<v1::Organization> result;
    const int64_t n = orgs.Size();
    int64_t i = token.position();
    for (; i < n && static_cast<int>(result.items.size()) < page.limit; ++i) {
      ASSIGN_OR_RETURN(
          v1::Organization org,
          MapOrganization(orgs[static_cast<rapidjson::SizeType>(i)],
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
    PodioPageToken token;
    if (page.page_token.empty()) {
      RETURN_IF_ERROR(AddOrgSources(ctx, organization_id, &token));
    } else {
      ASSIGN_OR_RETURN(token, DecodeToken(page.page_token, "workspaces"));
    }
    Page<v1::Workspace> result;
    int64_t index = token.position();
    while (index < token.sources_size() &&
           static_cast<int>(result.items.size()) < page.limit) {
      PageSource& source = *token.mutable_sources(static_cast<int>(index));
      ASSIGN_OR_RETURN(
          json::Body spaces,
          client_->Get(ctx, absl::StrCat("/org/", source.id(), "/space/")));
      if (!spaces.IsArray()) return MalformedList("organization spaces");
      const v1::OrganizationRef ref = OrgRef(source.id(), source.name());
      int64_t offset = source.offset();
      const int64_t n = spaces.Size();
      for (; offset < n && static_cast<int>(result.items.size()) < page.limit;
           ++offset) {
        ASSIGN_OR_RETURN(
            v1::Workspace ws,
            MapSpace(spaces[static_cast<rapidjson::SizeType>(offset)], ref,
                     page.include_remote_data));
        result.items.push_back(std::move(ws));
      }
      if (offset < n) {
        source.set_offset(offset);
        break;
      }
      ++index;
    }
    token.set_position(index);
    if (index < token.sources_size()) {
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
    Page<v1::RoleAssignment> result;
    while (static_cast<int>(result.items.size()) < page.limit) {
      if (token.position() >= token.sources_size()) {
        if (token.phase() == 1) break;
        // Organization roles done: the workspaces of those organizations.
        PodioPageToken spaces_token;
        spaces_token.set_phase(1);
        for (const PageSource& org : token.sources()) {
          ASSIGN_OR_RETURN(
              json::Body spaces,
              client_->Get(ctx, absl::StrCat("/org/", org.id(), "/space/")));
          if (!spaces.IsArray()) return MalformedList("organization spaces");
          for (const auto& space : spaces.GetArray()) {
            auto sid = json::Int64(space, "space_id");
            if (!sid) continue;
            PageSource* source = spaces_token.add_sources();
            source->set_id(*sid);
            source->set_name(json::StringOr(space, "name"));
          }
        }
        token = std::move(spaces_token);
        continue;
      }
      PageSource& source =
          *token.mutable_sources(static_cast<int>(token.position()));
      const bool org_phase = token.phase() == 0;
      int want = 0;
      ASSIGN_OR_RETURN(
          json::Body doc,
          GetPage(
              ctx,
              org_phase ? PagedRoute::kOrgMembers : PagedRoute::kSpaceMembers,
              page.limit - static_cast<int>(result.items.size()),
              [&](int limit) {
                return org_phase
                           ? absl::StrCat(
                                 "/org/", source.id(), "/member/?limit=", limit,
                                 "&offset=", source.offset(), "&sort_by=name")
                           : absl::StrCat("/space/", source.id(),
                                          "/member/v2/?limit=", limit,
                                          "&offset=", source.offset());
              },
              &want));
      if (!doc.IsArray()) return MalformedList("members");
      for (const auto& member : doc.GetArray()) {
        absl::StatusOr<v1::User> user =
            org_phase ? MapOrgMember(member, OrgRef(source.id(), source.name()),
                                     false)
                      : MapSpaceMemberV2(member, v1::WorkspaceRef(), false);
        if (!user.ok()) return user.status();
        const std::string role = json::StringOr(member, "role");
        v1::RoleAssignment a;
        a.set_user_id(user->id());
        a.set_scope(org_phase ? v1::ROLE_SCOPE_ORGANIZATION
                              : v1::ROLE_SCOPE_WORKSPACE);
        a.set_scope_id(absl::StrCat(source.id()));
        a.set_role_id(RoleId(a.scope(), role));
        a.set_id(absl::StrCat(a.scope_id(), ":", a.user_id()));
        if (!a.role_id().empty()) result.items.push_back(std::move(a));
      }
      source.set_offset(source.offset() + doc.Size());
      if (static_cast<int>(doc.Size()) < want) {
        token.set_position(token.position() + 1);
      }
    }
    const bool finished =
        token.phase() == 1 && token.position() >= token.sources_size();
    if (!finished) result.next_page_token = EncodeToken(token, "assignments");
    return result;
  }

  std::vector<v1::Role> Roles() const override { return RoleCatalog(); }

  absl::StatusOr<HttpResponse> Proxy(CallContext& ctx,
                                     const HttpRequest& request,
                                     bool retry) override {
    return client_->Send(ctx, request, retry);
  }

 private:
  // Query suffix of an organization member listing for `filter`: name order,
  // role as member_type, e-mail as query.
  static absl::StatusOr<std::string> OrgMemberQuery(const UserFilter& filter) {
    std::string extra = "&sort_by=name";
    if (!filter.role_id.empty()) {
      if (filter.role_id == "organization.admin") {
        absl::StrAppend(&extra, "&member_type=admin");
      } else if (filter.role_id == "organization.regular") {
        absl::StrAppend(&extra, "&member_type=regular");
      } else if (filter.role_id.rfind("workspace.", 0) == 0 &&
                 !RoleId(v1::ROLE_SCOPE_WORKSPACE, filter.role_id.substr(10))
                      .empty()) {
        return BadArgument("a workspace role filter needs workspace_id",
                           "ROLE_NEEDS_WORKSPACE");
      } else {
        return BadArgument("unknown role id", "UNKNOWN_ROLE");
      }
    }
    if (!filter.email.empty()) {
      absl::StrAppend(&extra,
                      "&query=", Escape(absl::AsciiStrToLower(filter.email)));
    }
    return extra;
  }

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
    return source;
  }

  static std::string OrgMembersUrl(int64_t org_id, int limit, int64_t offset,
                                   const std::string& extra) {
    return absl::StrCat("/org/", org_id, "/member/?limit=", limit,
                        "&offset=", offset, extra);
  }

  static absl::Status MalformedList(absl::string_view what) {
    return WithErrorInfo(absl::InternalError(absl::StrCat(
                             "Podio answered a non-list for ", what)),
                         "UPSTREAM_MALFORMED_RESPONSE");
  }

  // Adds a listing source per organization to read (see Orgs()).
  absl::Status AddOrgSources(CallContext& ctx, const std::string& only,
                             PodioPageToken* token) {
    ASSIGN_OR_RETURN(std::vector<OrgInfo> orgs, Orgs(ctx, only));
    for (const OrgInfo& org : orgs) {
      PageSource* source = token->add_sources();
      source->set_id(org.id);
      source->set_name(org.name);
    }
    return absl::OkStatus();
  }

  // The organizations to read: one (checked to exist) or all of GET /org/.
  absl::StatusOr<std::vector<OrgInfo>> Orgs(CallContext& ctx,
                                            const std::string& only) {
    std::vector<OrgInfo> out;
    if (!only.empty()) {
      ASSIGN_OR_RETURN(int64_t id, ParseId(only, "organization_id"));
      ASSIGN_OR_RETURN(json::Body org,
                       client_->Get(ctx, absl::StrCat("/org/", id)));
      out.push_back({id, json::StringOr(org, "name")});
      return out;
    }
    ASSIGN_OR_RETURN(json::Body orgs, client_->Get(ctx, "/org/"));
    if (!orgs.IsArray()) return MalformedList("/org/");
    for (const auto& org : orgs.GetArray()) {
      if (auto id = json::Int64(org, "org_id")) {
        out.push_back({*id, json::StringOr(org, "name")});
      }
    }
    return out;
  }

  absl::StatusOr<Page<v1::User>> WorkspaceUsers(CallContext& ctx,
                                                const UserFilter& filter,
                                                const PageRequest& page) {
    std::string member_type;
    if (!filter.role_id.empty()) {
      if (filter.role_id.rfind("workspace.", 0) != 0 ||
          RoleId(v1::ROLE_SCOPE_WORKSPACE, filter.role_id.substr(10)).empty()) {
        return BadArgument("with workspace_id, role must be a workspace role",
                           "UNKNOWN_ROLE");
      }
      member_type = filter.role_id.substr(10);
    }
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
    const std::string email = absl::AsciiStrToLower(filter.email);
    int upstream = 0;
    ASSIGN_OR_RETURN(
        json::Body doc,
        GetPage(
            ctx, PagedRoute::kSpaceMembers, page.limit,
            [&](int limit) {
              std::string url = absl::StrCat("/space/", source.id(),
                                             "/member/v2/?limit=", limit,
                                             "&offset=", source.offset());
              if (!member_type.empty()) {
                absl::StrAppend(&url, "&member_type=", member_type);
              }
              if (!email.empty()) {
                absl::StrAppend(&url, "&query=", Escape(email));
              }
              return url;
            },
            &upstream));
    if (!doc.IsArray()) return MalformedList("workspace members");
    v1::WorkspaceRef ws;
    ws.set_id(absl::StrCat(source.id()));
    ws.set_name(source.name());
    Page<v1::User> result;
    for (const auto& member : doc.GetArray()) {
      ASSIGN_OR_RETURN(v1::User user,
                       MapSpaceMemberV2(member, ws, page.include_remote_data));
      if (source.parent_id() != 0) {
        *user.add_organizations() =
            OrgRef(source.parent_id(), source.parent_name());
      }
      if (!email.empty() && !EmailMatches(user, email)) continue;
      if (filter.status != v1::USER_STATUS_UNSPECIFIED &&
          user.status() != filter.status) {
        continue;
      }
      result.items.push_back(std::move(user));
    }
    source.set_offset(source.offset() + doc.Size());
    if (static_cast<int>(doc.Size()) >= upstream) {
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

  // The limit to ask of `route` for `want` rows.
  int PageSize(PagedRoute route, int want) const {
    return std::max(1,
                    std::min(page_size_[static_cast<int>(route)].load(), want));
  }

  // GETs a page of `route` at `url(limit)`, the limit PageSize gives (set in
  // `*asked`). Podio's 400 to a limit above the floor is read as "too large"
  // (its maximum is unconfirmed): the route's size shrinks, is kept for
  // later calls, and the page is asked again.
  absl::StatusOr<json::Body> GetPage(
      CallContext& ctx, PagedRoute route, int want,
      const std::function<std::string(int limit)>& url, int* asked) {
    std::atomic<int>& size = page_size_[static_cast<int>(route)];
    while (true) {
      const int limit = PageSize(route, want);
      *asked = limit;
      absl::StatusOr<json::Body> doc = client_->Get(ctx, url(limit));
      if (doc.status().code() != absl::StatusCode::kInvalidArgument ||
          limit <= options_.min_page_size) {
        return doc;
      }
      const int smaller =
          limit > 100 ? 100 : std::max(options_.min_page_size, limit / 2);
      // Only ever shrinks; racing shrinks keep the smallest.
      for (int current = size.load();
           current > smaller &&
           !size.compare_exchange_weak(current, smaller);) {
      }
    }
  }

  PodioClient* const client_;
  const PodioConnectorOptions options_;
  // Each paged route's current page size (options, then what Podio took).
  std::atomic<int> page_size_[kPagedRoutes];
};

}  // namespace

absl::Status ParsePageSizes(absl::string_view text,
                            PodioConnectorOptions* options) {
  static constexpr std::pair<const char*, PagedRoute> kNames[] = {
      {"org_members", PagedRoute::kOrgMembers},
      {"org_contacts", PagedRoute::kOrgContacts},
      {"space_members", PagedRoute::kSpaceMembers}};
  for (absl::string_view entry : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(entry, absl::MaxSplits('=', 1));
    int size = 0;
    const auto* named =
        std::find_if(std::begin(kNames), std::end(kNames),
                     [&](const auto& n) { return kv.first == n.first; });
    if (named == std::end(kNames) || !absl::SimpleAtoi(kv.second, &size) ||
        size < 1 || size > 100000) {
      return absl::InvalidArgumentError(absl::StrCat(
          "page size entry '", entry,
          "' is not org_members|org_contacts|space_members=N (1..100000)"));
    }
    options->page_size[static_cast<int>(named->second)] = size;
  }
  return absl::OkStatus();
}

std::unique_ptr<DirectoryConnector> NewPodioConnector(
    PodioClient* client, PodioConnectorOptions options) {
  return std::make_unique<PodioConnector>(client, options);
}

}  // namespace unified::podio
