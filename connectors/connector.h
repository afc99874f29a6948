// The pluggable connector interface: what the service asks of a provider,
// in the unified schema. Connectors know nothing of gRPC, tenants or storage
// (docs/architecture.md, "Layers"): the service hands them a CallContext and
// gets unified records back.
#ifndef CONNECTORS_CONNECTOR_H_
#define CONNECTORS_CONNECTOR_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "connectors/common/call_context.h"
#include "connectors/common/http_client.h"
#include "connectors/common/paging.h"
#include "connectors/common/text.h"
#include "proto/unified/v1/resources.pb.h"

namespace unified {

struct UserFilter {
  std::string organization_id;
  std::string workspace_id;
  std::string email;
  v1::UserStatus status = v1::USER_STATUS_UNSPECIFIED;
  std::string role_id;
  // The order of an organization's listing (organization_id set): by
  // `last_active` time instead of by name, and/or descending. The default
  // (name, ascending) is every listing's order.
  bool order_by_last_active = false;
  bool order_desc = false;
  // Users whose name or an e-mail contains it, case folded
  // (UserMatchesQuery; the service lowers ASCII letters already).
  // A connector sends it to the provider where the provider can search,
  // and checks every user it returns either way.
  std::string query;
};

// Whether `folded_query` (FoldCase of the query; "" matches all) is a
// substring of the user's name or of one of their e-mails, both folded the
// same way (connectors/common/text.h: "émile" finds "Émile").
inline bool UserMatchesQuery(const v1::User& user,
                             absl::string_view folded_query) {
  if (folded_query.empty()) return true;
  if (ContainsFolded(user.name(), folded_query)) return true;
  for (const v1::Email& e : user.emails()) {
    if (ContainsFolded(e.email(), folded_query)) return true;
  }
  return false;
}

struct RoleAssignmentFilter {
  std::string user_id;
  std::string organization_id;
  std::string workspace_id;
};

// The parts of a user a GetUser caller keeps (from its read mask).
struct UserParts {
  // User.remote_data: the provider's raw records.
  bool remote_data = false;
  // User.workspaces and workspace-scoped roles (Podio reads them with a call
  // per organization of the user).
  bool workspaces = true;
};

// A directory connector for one provider. Thread-safe; one instance serves
// every account of its provider. Errors are absl::Status values carrying
// google.rpc details (connectors/common/error_details.h).
class DirectoryConnector {
 public:
  virtual ~DirectoryConnector() = default;

  // Stable provider name, e.g. "podio".
  virtual std::string provider() const = 0;

  virtual absl::StatusOr<v1::User> GetMe(CallContext& ctx,
                                         bool include_remote_data) = 0;
  virtual absl::StatusOr<Page<v1::User>> ListUsers(CallContext& ctx,
                                                   const UserFilter& filter,
                                                   const PageRequest& page) = 0;
  // The listings page after page from `start` (streams). By default one
  // List call per page; a connector that can name its next requests reads
  // ahead. `ctx` outlives the iterator.
  virtual std::unique_ptr<PageIterator<v1::User>> IterateUsers(
      CallContext& ctx, const UserFilter& filter, const PageRequest& start) {
    return std::make_unique<PagedIterator<v1::User>>(
        [this, &ctx, filter](const PageRequest& page) {
          return ListUsers(ctx, filter, page);
        },
        start);
  }
  virtual std::unique_ptr<PageIterator<v1::Organization>> IterateOrganizations(
      CallContext& ctx, const PageRequest& start) {
    return std::make_unique<PagedIterator<v1::Organization>>(
        [this, &ctx](const PageRequest& page) {
          return ListOrganizations(ctx, page);
        },
        start);
  }
  virtual std::unique_ptr<PageIterator<v1::Workspace>> IterateWorkspaces(
      CallContext& ctx, const std::string& organization_id,
      const PageRequest& start) {
    return std::make_unique<PagedIterator<v1::Workspace>>(
        [this, &ctx, organization_id](const PageRequest& page) {
          return ListWorkspaces(ctx, organization_id, page);
        },
        start);
  }
  virtual std::unique_ptr<PageIterator<v1::RoleAssignment>>
  IterateRoleAssignments(CallContext& ctx, const RoleAssignmentFilter& filter,
                         const PageRequest& start) {
    return std::make_unique<PagedIterator<v1::RoleAssignment>>(
        [this, &ctx, filter](const PageRequest& page) {
          return ListRoleAssignments(ctx, filter, page);
        },
        start);
  }
  // One user with every part `parts` asks for; a connector may leave out
  // what is not asked and costs provider calls.
  virtual absl::StatusOr<v1::User> GetUser(CallContext& ctx,
                                           const std::string& user_id,
                                           const UserParts& parts) = 0;
  // Several users at once, in the order of `user_ids` (repeats allowed);
  // nullopt for an id the account cannot see. A connector reads them the
  // cheapest way its provider allows. By default, one GetUser per distinct
  // id.
  virtual absl::StatusOr<std::vector<std::optional<v1::User>>> BatchGetUsers(
      CallContext& ctx, const std::vector<std::string>& user_ids,
      bool include_remote_data) {
    std::map<std::string, std::optional<v1::User>> found;
    for (const std::string& id : user_ids) {
      if (found.count(id)) continue;
      UserParts parts;
      parts.remote_data = include_remote_data;
      absl::StatusOr<v1::User> user = GetUser(ctx, id, parts);
      if (absl::IsNotFound(user.status())) {
        found[id] = std::nullopt;
        continue;
      }
      if (!user.ok()) return user.status();
      found[id] = std::move(*user);
    }
    std::vector<std::optional<v1::User>> out;
    out.reserve(user_ids.size());
    for (const std::string& id : user_ids) out.push_back(found[id]);
    return out;
  }
  virtual absl::StatusOr<Page<v1::Organization>> ListOrganizations(
      CallContext& ctx, const PageRequest& page) = 0;
  virtual absl::StatusOr<v1::Organization> GetOrganization(
      CallContext& ctx, const std::string& organization_id,
      bool include_remote_data) = 0;
  virtual absl::StatusOr<Page<v1::Workspace>> ListWorkspaces(
      CallContext& ctx, const std::string& organization_id,
      const PageRequest& page) = 0;
  virtual absl::StatusOr<v1::Workspace> GetWorkspace(
      CallContext& ctx, const std::string& workspace_id,
      bool include_remote_data) = 0;
  // Several workspaces at once, in the order of `workspace_ids` (repeats
  // allowed); nullopt for an id the account cannot see. By default, one
  // GetWorkspace per distinct id.
  virtual absl::StatusOr<std::vector<std::optional<v1::Workspace>>>
  BatchGetWorkspaces(CallContext& ctx,
                     const std::vector<std::string>& workspace_ids,
                     bool include_remote_data) {
    std::map<std::string, std::optional<v1::Workspace>> found;
    for (const std::string& id : workspace_ids) {
      if (found.count(id)) continue;
      absl::StatusOr<v1::Workspace> w =
          GetWorkspace(ctx, id, include_remote_data);
      if (absl::IsNotFound(w.status())) {
        found[id] = std::nullopt;
        continue;
      }
      if (!w.ok()) return w.status();
      found[id] = std::move(*w);
    }
    std::vector<std::optional<v1::Workspace>> out;
    out.reserve(workspace_ids.size());
    for (const std::string& id : workspace_ids) out.push_back(found[id]);
    return out;
  }
  virtual absl::StatusOr<Page<v1::RoleAssignment>> ListRoleAssignments(
      CallContext& ctx, const RoleAssignmentFilter& filter,
      const PageRequest& page) = 0;
  // The fixed role catalog; no provider call.
  virtual std::vector<v1::Role> Roles() const = 0;

  // One provider API call passed through 1-to-1 with the account's
  // credentials injected (the proxy). `request.url` is the path and query
  // relative to the provider's API base, already checked by the caller.
  // Any HTTP answer is a result, the provider's errors included; errors are
  // transport failures, the budget and credentials. `retry`: 5xx and
  // transport failures may be retried (idempotent methods, or the caller
  // opted in).
  virtual absl::StatusOr<HttpResponse> Proxy(CallContext& ctx,
                                             const HttpRequest& request,
                                             bool retry) {
    return absl::UnimplementedError("this connector has no proxy");
  }
};

}  // namespace unified

#endif  // CONNECTORS_CONNECTOR_H_
