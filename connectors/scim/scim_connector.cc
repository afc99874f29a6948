#include "connectors/scim/scim_connector.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "connectors/common/error_details.h"
#include "connectors/common/json.h"
#include "connectors/common/status_macros.h"
#include "connectors/scim/scim_errors.h"
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

// Where a listing resumes: the 1-based startIndex of the next request and
// how many results of it were already returned. Tokens read
// "<kind>1:<start>:<skip>"; the kind binds a token to its listing.
struct Position {
  int64_t start = 1;
  int64_t skip = 0;
};

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
    return BadArgument("page token not issued for this listing",
                       "INVALID_CURSOR");
  }
  return p;
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
                                   bool include_remote_data) override {
    RETURN_IF_ERROR(CheckId(user_id, "user_id"));
    ASSIGN_OR_RETURN(json::Body doc, Get(ctx, "/Users/" + user_id));
    return MapUser(doc, org_, include_remote_data);
  }

  absl::StatusOr<Page<v1::User>> ListUsers(CallContext& ctx,
                                           const UserFilter& filter,
                                           const PageRequest& page) override {
    ASSIGN_OR_RETURN(Position pos, DecodePosition('u', page.page_token));
    RETURN_IF_ERROR(CheckOrganization(filter.organization_id));
    if (filter.order_by_last_active || filter.order_desc) {
      // SCIM sorting is optional and not asked of providers (docs/scim.md).
      return BadArgument("SCIM listings come in the provider's order only",
                         "INVALID_ORDER_BY");
    }
    std::vector<std::string> conditions;
    bool admins_only = false;
    if (!filter.role_id.empty()) {
      if (filter.role_id == "workspace.member") {
        if (filter.workspace_id.empty()) {
          return BadArgument("a workspace role filter needs workspace_id",
                             "ROLE_NEEDS_WORKSPACE");
        }
      } else if (filter.role_id == "organization.admin") {
        admins_only = true;
      } else if (filter.role_id != "organization.member") {
        return BadArgument("unknown role id", "UNKNOWN_ROLE");
      }
    }
    if (!filter.workspace_id.empty()) {
      RETURN_IF_ERROR(CheckId(filter.workspace_id, "workspace_id"));
      if (page.page_token.empty()) {
        // The group must exist: an unknown one is NOT_FOUND, not empty.
        RETURN_IF_ERROR(Get(ctx, absl::StrCat("/Groups/", filter.workspace_id,
                                              "?excludedAttributes=members"))
                            .status());
      }
      conditions.push_back("groups.value eq " + Quote(filter.workspace_id));
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
        return none;
      }
    }
    ASSIGN_OR_RETURN(Listed listed,
                     List(ctx, "/Users", absl::StrJoin(conditions, " and "), "",
                          pos, page.limit));
    Page<v1::User> out;
    for (const rapidjson::Value& r : listed.resources) {
      ASSIGN_OR_RETURN(v1::User user,
                       MapUser(r, org_, page.include_remote_data));
      // SCIM's `co` filter is optional and often missing (docs/scim.md):
      // the search is applied here, so pages may come back short.
      if (!UserMatchesQuery(user, filter.query)) continue;
      if (admins_only && std::none_of(user.roles().begin(), user.roles().end(),
                                      [](const v1::ScopedRole& role) {
                                        return role.role_id() ==
                                               "organization.admin";
                                      })) {
        continue;
      }
      out.items.push_back(std::move(user));
    }
    if (listed.next) out.next_page_token = EncodePosition('u', *listed.next);
    // The provider counted its matches; the service's own filtering (the
    // search, admins) would make that count wrong.
    if (filter.query.empty() && !admins_only) out.total_size = listed.total;
    return out;
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
    ASSIGN_OR_RETURN(Position pos, DecodePosition('w', page.page_token));
    RETURN_IF_ERROR(CheckOrganization(organization_id));
    ASSIGN_OR_RETURN(Listed listed,
                     List(ctx, "/Groups", "", "excludedAttributes=members", pos,
                          page.limit));
    Page<v1::Workspace> out;
    for (const rapidjson::Value& r : listed.resources) {
      ASSIGN_OR_RETURN(v1::Workspace ws,
                       MapGroup(r, org_, page.include_remote_data));
      out.items.push_back(std::move(ws));
    }
    if (listed.next) out.next_page_token = EncodePosition('w', *listed.next);
    out.total_size = listed.total;
    return out;
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
    RETURN_IF_ERROR(CheckOrganization(filter.organization_id));
    auto keep = [&](const v1::RoleAssignment& a) {
      return filter.workspace_id.empty() ||
             (a.scope() == v1::ROLE_SCOPE_WORKSPACE &&
              a.scope_id() == filter.workspace_id);
    };
    Page<v1::RoleAssignment> out;
    if (!filter.user_id.empty()) {
      // One user's assignments: one request, one page.
      if (!page.page_token.empty()) {
        RETURN_IF_ERROR(DecodePosition('a', page.page_token).status());
        return out;
      }
      ASSIGN_OR_RETURN(v1::User user, GetUser(ctx, filter.user_id, false));
      for (v1::RoleAssignment& a : AssignmentsOf(user)) {
        if (keep(a)) out.items.push_back(std::move(a));
      }
      return out;
    }
    ASSIGN_OR_RETURN(Position pos, DecodePosition('a', page.page_token));
    std::string condition;
    if (!filter.workspace_id.empty()) {
      RETURN_IF_ERROR(CheckId(filter.workspace_id, "workspace_id"));
      condition = "groups.value eq " + Quote(filter.workspace_id);
    }
    // Users are read from `pos`; their assignments are emitted until the
    // page is full, and the next page resumes inside the user it stopped
    // at (skip = assignments of that batch already returned).
    const int limit = std::max(1, page.limit);
    Position at{pos.start, 0};
    ASSIGN_OR_RETURN(Listed listed,
                     List(ctx, "/Users", condition, "", at, limit));
    int64_t emitted = 0;  // Assignments of this batch, returned or skipped.
    for (const rapidjson::Value& r : listed.resources) {
      ASSIGN_OR_RETURN(v1::User user, MapUser(r, org_, false));
      for (v1::RoleAssignment& a : AssignmentsOf(user)) {
        if (!keep(a)) continue;
        if (emitted++ < pos.skip) continue;
        if (static_cast<int>(out.items.size()) == limit) {
          out.next_page_token =
              EncodePosition('a', Position{pos.start, emitted - 1});
          return out;
        }
        out.items.push_back(std::move(a));
      }
    }
    if (listed.next) {
      out.next_page_token =
          EncodePosition('a', Position{listed.next->start, 0});
    }
    return out;
  }

  std::vector<v1::Role> Roles() const override { return RoleCatalog(); }

  absl::StatusOr<HttpResponse> Proxy(CallContext& ctx,
                                     const HttpRequest& request,
                                     bool retry) override {
    return pipeline_->Send(ctx, request, retry);
  }

 private:
  // A listing request's resources and where the next one starts (nullopt:
  // this was the last).
  struct Listed {
    json::Body doc;
    // Iterable view of the page's resources (inside `doc`).
    struct Range {
      const rapidjson::Value* array = nullptr;
      const rapidjson::Value* begin() const {
        return array == nullptr ? nullptr : array->GetArray().Begin();
      }
      const rapidjson::Value* end() const {
        return array == nullptr ? nullptr : array->GetArray().End();
      }
    } resources;
    std::optional<Position> next;
    // The provider's totalResults: every match of the filter.
    int64_t total = 0;
  };

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
    if (response.status < 200 || response.status >= 300) {
      return StatusForScimError(response.status, response.body,
                                response.Header("retry-after"));
    }
    absl::StatusOr<json::Body> doc = json::ParseOwned(std::move(response.body));
    if (!doc.ok()) {
      return WithErrorInfo(doc.status(), "UPSTREAM_MALFORMED_RESPONSE");
    }
    return doc;
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

  // One page of `collection` from `pos` (its `skip` results dropped),
  // at most `limit` results asked.
  absl::StatusOr<Listed> List(CallContext& ctx, const std::string& collection,
                              const std::string& filter,
                              const std::string& extra, const Position& pos,
                              int limit) {
    ASSIGN_OR_RETURN(Capabilities caps, Caps(ctx));
    if (!filter.empty() && !caps.filter) {
      return WithErrorInfo(
          absl::FailedPreconditionError(
              "the SCIM provider does not filter (ServiceProviderConfig)"),
          "UPSTREAM_REJECTED");
    }
    int64_t count = std::max(1, limit);
    if (caps.max_results > 0) count = std::min(count, caps.max_results);
    std::string path =
        absl::StrCat(collection, "?startIndex=", pos.start, "&count=", count);
    if (!filter.empty()) absl::StrAppend(&path, "&filter=", UrlEncode(filter));
    if (!extra.empty()) absl::StrAppend(&path, "&", extra);
    Listed out;
    ASSIGN_OR_RETURN(out.doc, Get(ctx, path));
    ASSIGN_OR_RETURN(ListPage page, ReadListPage(out.doc));
    out.resources.array = page.resources;
    out.total = page.total_results;
    const int64_t got = page.size();
    // Resume after what this answer held: a provider may answer fewer than
    // asked (RFC 7644 §3.4.2.4), so the next start is counted, not assumed.
    if (got > 0 && pos.start - 1 + got < page.total_results) {
      out.next = Position{pos.start + got, 0};
    }
    return out;
  }

  RequestPipeline* const pipeline_;
  const ScimConnectorOptions options_;
  v1::OrganizationRef org_;
  absl::Mutex mu_;
  std::optional<Capabilities> caps_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<DirectoryConnector> NewScimConnector(
    RequestPipeline* pipeline, ScimConnectorOptions options) {
  return std::make_unique<ScimConnector>(pipeline, std::move(options));
}

}  // namespace unified::scim
