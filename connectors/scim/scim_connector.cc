#include "connectors/scim/scim_connector.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "connectors/common/error_details.h"
#include "connectors/common/json.h"
#include "connectors/common/listing_driver.h"
#include "connectors/common/status_macros.h"
#include "connectors/scim/scim_errors.h"
#include "connectors/scim/scim_groups.h"
#include "connectors/scim/scim_listings.h"
#include "connectors/scim/scim_mappers.h"

namespace unified::scim {

void ScimProtocol::Authorize(const std::string& token,
                             HttpRequest& attempt) const {
  attempt.headers.emplace_back("Authorization", "Bearer " + token);
}

bool ScimProtocol::IsExpiredToken(const HttpResponse& response) const {
  // RFC 6750 §3.1: an expired, revoked or unknown token is a 401.
  return response.status == 401;
}

RateSignal ScimProtocol::ReadRateSignal(const HttpResponse& response) const {
  RateSignal signal;
  if (response.status == 429) {
    signal.stop = true;
    signal.wait = ParseRetryAfter(response.Header("retry-after"));
  }
  return signal;
}

namespace {

absl::Status BadArgument(absl::string_view message, absl::string_view reason) {
  return WithErrorInfo(absl::InvalidArgumentError(message), reason);
}

// A SCIM id used in a path: opaque text, but never one that could leave
// the resource (RFC 7643 §3.1 ids are unique strings; these characters
// would change the request).
absl::Status CheckId(const std::string& id, absl::string_view what) {
  if (id.empty() || id.size() > 256 ||
      id.find_first_of("/?#%\\ \t\r\n\"") != std::string::npos || id == "." ||
      id == "..") {
    return BadArgument(absl::StrCat(what, " is not a valid SCIM id"),
                       "INVALID_ID");
  }
  return absl::OkStatus();
}

// A quoted filter value (RFC 7644 §3.4.2.2: JSON string syntax).
std::string Quote(absl::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// Whether a User resource meets the filter the connector sends for these
// (docs/scim.md): checked on every resource, since a provider may accept a
// filter and ignore it. An attribute the resource does not carry cannot be
// checked and is taken as met.
std::function<bool(const rapidjson::Value&)> FilterCheck(
    std::string workspace_id, std::string email, std::optional<bool> active) {
  return [workspace_id = std::move(workspace_id), email = std::move(email),
          active](const rapidjson::Value& r) {
    if (!email.empty()) {
      const rapidjson::Value* emails = json::Find(r, "emails");
      if (emails != nullptr && emails->IsArray()) {
        bool found = false;
        for (const rapidjson::Value& e : emails->GetArray()) {
          found |= absl::EqualsIgnoreCase(json::View(e, "value"), email);
        }
        if (!found) return false;
      }
    }
    if (active) {
      if (std::optional<bool> is = json::Bool(r, "active");
          is && *is != *active) {
        return false;
      }
    }
    if (!workspace_id.empty()) {
      const rapidjson::Value* groups = json::Find(r, "groups");
      if (groups != nullptr && groups->IsArray()) {
        bool found = false;
        for (const rapidjson::Value& g : groups->GetArray()) {
          found |= json::View(g, "value") == workspace_id;
        }
        if (!found) return false;
      }
    }
    return true;
  };
}

class ScimConnector final : public DirectoryConnector {
 public:
  ScimConnector(RequestPipeline* pipeline, ScimConnectorOptions options)
      : pipeline_(pipeline), options_(std::move(options)) {
    org_.set_id(kOrganizationId);
    org_.set_name(options_.organization_name);
  }

  std::string provider() const override { return "scim"; }

  absl::StatusOr<v1::User> GetMe(CallContext& ctx,
                                 bool include_remote_data) override {
    ASSIGN_OR_RETURN(json::Body doc, Get(ctx, "/Me"));
    return MapUser(doc, org_, include_remote_data);
  }

  absl::StatusOr<v1::User> GetUser(CallContext& ctx, const std::string& user_id,
                                   const UserParts& parts) override {
    RETURN_IF_ERROR(CheckId(user_id, "user_id"));
    ASSIGN_OR_RETURN(json::Body doc, Get(ctx, "/Users/" + user_id));
    if (doc.root().IsObject() && json::Find(doc, "groups") == nullptr) {
      ASSIGN_OR_RETURN(bool filters, GroupsFilter(ctx));
      // A provider without the optional `groups` attribute (nor its
      // filter): the groups that name the user among their members.
      if (!filters) {
        RETURN_IF_ERROR(AddGroupsOf(
            user_id, [&](const std::string& path) { return Get(ctx, path); },
            &doc));
      }
    }
    return MapUser(doc, org_, parts.remote_data);
  }

  absl::StatusOr<Page<v1::User>> ListUsers(CallContext& ctx,
                                           const UserFilter& filter,
                                           const PageRequest& page) override {
    return ListPager(pipeline_, ctx, UsersPager(ctx, filter, page));
  }

  std::unique_ptr<PageIterator<v1::User>> IterateUsers(
      CallContext& ctx, const UserFilter& filter,
      const PageRequest& start) override {
    return IteratePager(pipeline_, ctx, options_.ahead,
                        UsersPager(ctx, filter, start));
  }

  absl::StatusOr<Page<v1::Organization>> ListOrganizations(
      CallContext& ctx, const PageRequest& page) override {
    Page<v1::Organization> out;
    out.total_size = 1;  // The directory is the one organization.
    if (!page.page_token.empty()) {
      RETURN_IF_ERROR(DecodePosition('o', page.page_token).status());
      return out;  // The one organization was on the first page.
    }
    ASSIGN_OR_RETURN(v1::Organization org,
                     GetOrganization(ctx, kOrganizationId, false));
    out.items.push_back(std::move(org));
    return out;
  }

  absl::StatusOr<v1::Organization> GetOrganization(
      CallContext& ctx, const std::string& organization_id,
      bool include_remote_data) override {
    RETURN_IF_ERROR(CheckOrganization(organization_id));
    // count=0 asks for totalResults alone (RFC 7644 §3.4.2.4).
    ASSIGN_OR_RETURN(json::Body doc, Get(ctx, "/Users?count=0"));
    ASSIGN_OR_RETURN(ListPage list, ReadListPage(doc));
    v1::Organization org;
    org.set_id(org_.id());
    org.set_name(org_.name());
    org.set_status(v1::ORGANIZATION_STATUS_ACTIVE);
    org.set_member_count(list.total_results);
    return org;
  }

  absl::StatusOr<Page<v1::Workspace>> ListWorkspaces(
      CallContext& ctx, const std::string& organization_id,
      const PageRequest& page) override {
    return ListPager(pipeline_, ctx,
                     WorkspacesPager(ctx, organization_id, page));
  }

  std::unique_ptr<PageIterator<v1::Workspace>> IterateWorkspaces(
      CallContext& ctx, const std::string& organization_id,
      const PageRequest& start) override {
    return IteratePager(pipeline_, ctx, options_.ahead,
                        WorkspacesPager(ctx, organization_id, start));
  }

  absl::StatusOr<v1::Workspace> GetWorkspace(
      CallContext& ctx, const std::string& workspace_id,
      bool include_remote_data) override {
    RETURN_IF_ERROR(CheckId(workspace_id, "workspace_id"));
    ASSIGN_OR_RETURN(json::Body doc, Get(ctx, "/Groups/" + workspace_id));
    return MapGroup(doc, org_, include_remote_data);
  }

  absl::StatusOr<Page<v1::RoleAssignment>> ListRoleAssignments(
      CallContext& ctx, const RoleAssignmentFilter& filter,
      const PageRequest& page) override {
    return ListPager(pipeline_, ctx, AssignmentsPager(ctx, filter, page));
  }

  std::unique_ptr<PageIterator<v1::RoleAssignment>> IterateRoleAssignments(
      CallContext& ctx, const RoleAssignmentFilter& filter,
      const PageRequest& start) override {
    return IteratePager(pipeline_, ctx, options_.ahead,
                        AssignmentsPager(ctx, filter, start));
  }

  std::vector<v1::Role> Roles() const override { return RoleCatalog(); }

  absl::StatusOr<HttpResponse> Proxy(CallContext& ctx,
                                     const HttpRequest& request,
                                     bool retry) override {
    return pipeline_->Send(ctx, request, retry);
  }

 private:
  absl::Status CheckOrganization(const std::string& organization_id) const {
    if (!organization_id.empty() && organization_id != kOrganizationId) {
      return WithErrorInfo(
          absl::NotFoundError("a SCIM directory has one organization, \"" +
                              std::string(kOrganizationId) + "\""),
          "UPSTREAM_NOT_FOUND");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<json::Body> Get(CallContext& ctx, const std::string& path) {
    ASSIGN_OR_RETURN(HttpResponse response, pipeline_->Get(ctx, path));
    return ReadAnswer(std::move(response));
  }

  // ServiceProviderConfig, read once. A provider that does not serve it
  // gets the RFC's defaults.
  absl::StatusOr<Capabilities> Caps(CallContext& ctx) {
    {
      absl::MutexLock lock(&mu_);
      if (caps_) return *caps_;
    }
    ASSIGN_OR_RETURN(HttpResponse response,
                     pipeline_->Get(ctx, "/ServiceProviderConfig"));
    Capabilities caps;
    if (response.status >= 200 && response.status < 300) {
      if (absl::StatusOr<rapidjson::Document> doc = json::Parse(response.body);
          doc.ok()) {
        CanonicalizeNames(*doc, doc->GetAllocator());
        caps = ReadCapabilities(*doc);
      }
    } else if (response.status == 401 || response.status == 429 ||
               response.status >= 500) {
      // Not an answer about capabilities: ask again next time.
      return StatusForScimError(response.status, response.body,
                                response.Header("retry-after"));
    }
    absl::MutexLock lock(&mu_);
    caps_ = caps;
    return caps;
  }

  // Whether the provider filters users by `groups.value` (the optional
  // `groups` attribute of RFC 7643 §4.1.2): asked once, with a filter for a
  // group nobody is in. A 400 (or no filtering at all) says no: workspace
  // members are then read from Group.members (docs/scim.md, "Groups").
  absl::StatusOr<bool> GroupsFilter(CallContext& ctx) {
    {
      absl::MutexLock lock(&mu_);
      if (groups_filter_) return *groups_filter_;
    }
    ASSIGN_OR_RETURN(Capabilities caps, Caps(ctx));
    bool works = caps.filter;
    if (works) {
      ASSIGN_OR_RETURN(
          HttpResponse probe,
          pipeline_->Get(ctx, "/Users?startIndex=1&count=1&filter=" +
                                  UrlEncode("groups.value eq \"none\"")));
      if (probe.status == 400) {
        works = false;
      } else {
        RETURN_IF_ERROR(AnswerStatus(probe));
      }
    }
    absl::MutexLock lock(&mu_);
    groups_filter_ = works;
    return works;
  }

  // A listing of `collection` where `filter` is the provider's SCIM
  // filter ("" for none), with the page size ServiceProviderConfig allows.
  template <typename T>
  absl::StatusOr<ScimListing<T>> Listing(CallContext& ctx, char kind,
                                         const std::string& collection,
                                         const std::string& filter,
                                         const std::string& extra, int limit) {
    ASSIGN_OR_RETURN(Capabilities caps, Caps(ctx));
    if (!filter.empty() && !caps.filter) {
      return WithErrorInfo(
          absl::FailedPreconditionError(
              "the SCIM provider does not filter (ServiceProviderConfig)"),
          "UPSTREAM_REJECTED");
    }
    ScimListing<T> listing;
    listing.kind = kind;
    listing.collection = collection;
    int64_t count = std::max(1, limit);
    if (caps.max_results > 0) count = std::min(count, caps.max_results);
    if (caps.cursor && caps.max_page_size > 0) {
      count = std::min(count, caps.max_page_size);
    }
    listing.count = static_cast<int>(count);
    listing.cursor_paging = caps.cursor;
    if (!filter.empty()) listing.query = "filter=" + UrlEncode(filter);
    if (!extra.empty()) {
      listing.query =
          listing.query.empty() ? extra : listing.query + "&" + extra;
    }
    return listing;
  }

  // Whether the filter's role keeps organization admins only; an error for
  // a role SCIM users cannot have, or a workspace role without a workspace.
  static absl::StatusOr<bool> AdminsOnly(const UserFilter& filter) {
    if (filter.role_id.empty() || filter.role_id == "organization.member") {
      return false;
    }
    if (filter.role_id == "organization.admin") return true;
    if (filter.role_id != "workspace.member") {
      return BadArgument("unknown role id", "UNKNOWN_ROLE");
    }
    if (filter.workspace_id.empty()) {
      return BadArgument("a workspace role filter needs workspace_id",
                         "ROLE_NEEDS_WORKSPACE");
    }
    return false;
  }

  // Maps a listed user, keeping those the search (`query`, folded) and
  // `admins_only` keep.
  static std::function<absl::Status(const rapidjson::Value&,
                                    std::vector<v1::User>*)>
  UserMapper(v1::OrganizationRef org, bool remote, std::string query,
             bool admins_only) {
    return [org = std::move(org), remote, query = std::move(query),
            admins_only](const rapidjson::Value& r,
                         std::vector<v1::User>* out) -> absl::Status {
      ASSIGN_OR_RETURN(v1::User user, MapUser(r, org, remote));
      // SCIM's `co` filter is optional and often missing (docs/scim.md):
      // the search is applied here, so pages may come back short.
      if (!UserMatchesQuery(user, query)) return absl::OkStatus();
      if (admins_only && std::none_of(user.roles().begin(), user.roles().end(),
                                      [](const v1::ScopedRole& role) {
                                        return role.role_id() ==
                                               "organization.admin";
                                      })) {
        return absl::OkStatus();
      }
      out->push_back(std::move(user));
      return absl::OkStatus();
    };
  }

  absl::StatusOr<std::unique_ptr<Pager<v1::User>>> UsersPager(
      CallContext& ctx, const UserFilter& filter, const PageRequest& page) {
    RETURN_IF_ERROR(DecodePosition('u', page.page_token).status());
    RETURN_IF_ERROR(CheckOrganization(filter.organization_id));
    if (filter.order_by_last_active || filter.order_desc) {
      // SCIM sorting is optional and not asked of providers (docs/scim.md).
      return BadArgument("SCIM listings come in the provider's order only",
                         "INVALID_ORDER_BY");
    }
    std::vector<std::string> conditions;
    ASSIGN_OR_RETURN(const bool admins_only, AdminsOnly(filter));
    std::string precondition;
    bool from_group = false;
    if (!filter.workspace_id.empty()) {
      RETURN_IF_ERROR(CheckId(filter.workspace_id, "workspace_id"));
      ASSIGN_OR_RETURN(const bool filters, GroupsFilter(ctx));
      from_group = !filters;
      // The group must exist: an unknown one is NOT_FOUND, not empty.
      precondition =
          absl::StrCat("/Groups/", filter.workspace_id,
                       from_group ? "" : "?excludedAttributes=members");
      if (!from_group) {
        conditions.push_back("groups.value eq " + Quote(filter.workspace_id));
      }
    }
    if (!filter.email.empty()) {
      conditions.push_back("emails.value eq " + Quote(filter.email));
    }
    switch (filter.status) {
      case v1::USER_STATUS_UNSPECIFIED:
        break;
      case v1::USER_STATUS_ACTIVE:
        conditions.push_back("active eq true");
        break;
      case v1::USER_STATUS_INACTIVE:
        conditions.push_back("active eq false");
        break;
      default: {
        Page<v1::User> none;  // SCIM users are active or not.
        none.total_size = 0;
        return std::unique_ptr<Pager<v1::User>>(
            std::make_unique<OnePagePager<v1::User>>(std::move(none)));
      }
    }
    ASSIGN_OR_RETURN(
        ScimListing<v1::User> listing,
        Listing<v1::User>(ctx, 'u', "/Users",
                          absl::StrJoin(conditions, " and "), "", page.limit));
    listing.precondition = std::move(precondition);
    listing.keep = FilterCheck(
        filter.workspace_id, filter.email,
        filter.status == v1::USER_STATUS_UNSPECIFIED
            ? std::nullopt
            : std::optional<bool>(filter.status == v1::USER_STATUS_ACTIVE));
    listing.map = UserMapper(org_, page.include_remote_data,
                             FoldCase(filter.query), admins_only);
    // The provider counted its matches; the service's own filtering (the
    // search, admins) would make that count wrong.
    listing.total_counts_records = filter.query.empty() && !admins_only;
    if (from_group) {
      std::shared_ptr<GroupMembers> members =
          FromGroupMembers(filter.workspace_id, &listing);
      listing.map = [members, map = std::move(listing.map),
                     group = filter.workspace_id](const rapidjson::Value& r,
                                                  std::vector<v1::User>* out) {
        const size_t before = out->size();
        RETURN_IF_ERROR(map(r, out));
        for (size_t i = before; i < out->size(); ++i) {
          members->Mark(group, &(*out)[i]);
        }
        return absl::OkStatus();
      };
    }
    return NewScimPager(std::move(listing), page.limit, page.page_token);
  }

  absl::StatusOr<std::unique_ptr<Pager<v1::Workspace>>> WorkspacesPager(
      CallContext& ctx, const std::string& organization_id,
      const PageRequest& page) {
    RETURN_IF_ERROR(DecodePosition('w', page.page_token).status());
    RETURN_IF_ERROR(CheckOrganization(organization_id));
    // With their members: a group's member count is their number (SCIM
    // groups carry no count of their own).
    ASSIGN_OR_RETURN(
        ScimListing<v1::Workspace> listing,
        Listing<v1::Workspace>(ctx, 'w', "/Groups", "", "", page.limit));
    listing.map = [org = org_, remote = page.include_remote_data](
                      const rapidjson::Value& r,
                      std::vector<v1::Workspace>* out) -> absl::Status {
      ASSIGN_OR_RETURN(v1::Workspace ws, MapGroup(r, org, remote));
      out->push_back(std::move(ws));
      return absl::OkStatus();
    };
    return NewScimPager(std::move(listing), page.limit, page.page_token);
  }

  // Users are read from the token's start; their assignments fill the
  // page, and the next page resumes inside the answer it stopped in (skip =
  // the assignments of that answer already returned). One user's
  // assignments are one page.
  absl::StatusOr<std::unique_ptr<Pager<v1::RoleAssignment>>> AssignmentsPager(
      CallContext& ctx, const RoleAssignmentFilter& filter,
      const PageRequest& page) {
    RETURN_IF_ERROR(CheckOrganization(filter.organization_id));
    RETURN_IF_ERROR(DecodePosition('a', page.page_token).status());
    auto keep = [workspace = filter.workspace_id](const v1::RoleAssignment& a) {
      return workspace.empty() || (a.scope() == v1::ROLE_SCOPE_WORKSPACE &&
                                   a.scope_id() == workspace);
    };
    if (!filter.user_id.empty()) {
      Page<v1::RoleAssignment> out;
      if (page.page_token.empty()) {
        ASSIGN_OR_RETURN(v1::User user,
                         GetUser(ctx, filter.user_id, UserParts()));
        for (v1::RoleAssignment& a : AssignmentsOf(user)) {
          if (keep(a)) out.items.push_back(std::move(a));
        }
      }
      return std::unique_ptr<Pager<v1::RoleAssignment>>(
          std::make_unique<OnePagePager<v1::RoleAssignment>>(std::move(out)));
    }
    std::string condition;
    bool from_group = false;
    if (!filter.workspace_id.empty()) {
      RETURN_IF_ERROR(CheckId(filter.workspace_id, "workspace_id"));
      ASSIGN_OR_RETURN(const bool filters, GroupsFilter(ctx));
      from_group = !filters;
      if (filters) condition = "groups.value eq " + Quote(filter.workspace_id);
    }
    ASSIGN_OR_RETURN(ScimListing<v1::RoleAssignment> listing,
                     Listing<v1::RoleAssignment>(ctx, 'a', "/Users", condition,
                                                 "", page.limit));
    listing.keep = FilterCheck(filter.workspace_id, "", std::nullopt);
    listing.fill_pages = true;
    std::shared_ptr<GroupMembers> members;
    if (from_group) members = FromGroupMembers(filter.workspace_id, &listing);
    listing.map = [org = org_, keep, members, group = filter.workspace_id](
                      const rapidjson::Value& r,
                      std::vector<v1::RoleAssignment>* out) -> absl::Status {
      ASSIGN_OR_RETURN(v1::User user, MapUser(r, org, false));
      if (members) members->Mark(group, &user);
      for (v1::RoleAssignment& a : AssignmentsOf(user)) {
        if (keep(a)) out->push_back(std::move(a));
      }
      return absl::OkStatus();
    };
    return NewScimPager(std::move(listing), page.limit, page.page_token);
  }

  RequestPipeline* const pipeline_;
  const ScimConnectorOptions options_;
  v1::OrganizationRef org_;
  absl::Mutex mu_;
  std::optional<Capabilities> caps_ ABSL_GUARDED_BY(mu_);
  std::optional<bool> groups_filter_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<DirectoryConnector> NewScimConnector(
    RequestPipeline* pipeline, ScimConnectorOptions options) {
  return std::make_unique<ScimConnector>(pipeline, std::move(options));
}

}  // namespace unified::scim
