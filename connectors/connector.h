// The pluggable connector interface: what the service asks of a provider,
// in the unified schema. Connectors know nothing of gRPC, tenants or storage
// (ARCHITECTURE.md, invariant 1): the service hands them a CallContext and
// gets unified records back.
#ifndef CONNECTORS_CONNECTOR_H_
#define CONNECTORS_CONNECTOR_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/common/call_context.h"
#include "connectors/common/http_client.h"
#include "proto/unified/v1/resources.pb.h"

namespace unified {

// Paging of a listing. `page_token` is the connector's own resume state
// (versioned, opaque to the service, which seals it into a signed cursor);
// empty for the first page.
struct PageRequest {
  int limit = 100;
  std::string page_token;
  bool include_remote_data = false;
};

template <typename T>
struct Page {
  std::vector<T> items;
  // Empty when this is the last page.
  std::string next_page_token;
};

struct UserFilter {
  std::string organization_id;
  std::string workspace_id;
  std::string email;
  v1::UserStatus status = v1::USER_STATUS_UNSPECIFIED;
  std::string role_id;
};

struct RoleAssignmentFilter {
  std::string user_id;
  std::string organization_id;
  std::string workspace_id;
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
  // The token ListUsers would return after a full page fetched with `page`,
  // when the connector can tell without fetching (offset paging of a single
  // upstream list); "" when it cannot. Streams use it to download ahead in
  // parallel; a wrong guess only costs the speculative call.
  virtual std::string PredictNextUsersPageToken(const UserFilter& filter,
                                                const PageRequest& page) const {
    return "";
  }
  // Downloads, into ctx.prefetch, the raw answer ListUsers(filter, page)
  // will need, when it is one request the connector can name in advance; a
  // no-op otherwise. Errors are dropped: ListUsers then fetches itself.
  virtual void PrefetchUsersPage(CallContext& ctx, const UserFilter& filter,
                                 const PageRequest& page) {}
  virtual absl::StatusOr<v1::User> GetUser(CallContext& ctx,
                                           const std::string& user_id,
                                           bool include_remote_data) = 0;
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
