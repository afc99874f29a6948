// unified.v1.UserDirectory: thin handlers that validate the request, resolve
// the integrated account and its connector, page through cursors, and convert
// the result once at the edge (service/grpc_status.h). No Podio knowledge.
#ifndef SERVICE_USER_DIRECTORY_SERVICE_H_
#define SERVICE_USER_DIRECTORY_SERVICE_H_

#include <atomic>

#include "absl/status/statusor.h"
#include "connectors/registry.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "service/account_resolver.h"
#include "service/cursor.h"
#include "service/tenants.h"
#include "service/watch/watch_engine.h"

namespace unified {

class UserDirectoryService final : public v1::UserDirectory::Service {
 public:
  // Not owning; all must outlive the service.
  // `budget` may be null (no rate budgeting, for tests).
  UserDirectoryService(const TenantAuthenticator* tenants,
                       AccountResolver* accounts,
                       const ConnectorRegistry* connectors,
                       const CursorCodec* cursors, RateBudget* budget = nullptr)
      : tenants_(tenants),
        accounts_(accounts),
        connectors_(connectors),
        cursors_(cursors),
        budget_(budget) {}

  grpc::Status GetMe(grpc::ServerContext* context,
                     const v1::GetMeRequest* request,
                     v1::User* response) override;
  grpc::Status ListUsers(grpc::ServerContext* context,
                         const v1::ListUsersRequest* request,
                         v1::ListUsersResponse* response) override;
  grpc::Status StreamUsers(
      grpc::ServerContext* context, const v1::ListUsersRequest* request,
      grpc::ServerWriter<v1::ListUsersResponse>* writer) override;
  grpc::Status GetUser(grpc::ServerContext* context,
                       const v1::GetUserRequest* request,
                       v1::User* response) override;
  grpc::Status ListOrganizations(
      grpc::ServerContext* context, const v1::ListOrganizationsRequest* request,
      v1::ListOrganizationsResponse* response) override;
  grpc::Status StreamOrganizations(
      grpc::ServerContext* context, const v1::ListOrganizationsRequest* request,
      grpc::ServerWriter<v1::ListOrganizationsResponse>* writer) override;
  grpc::Status GetOrganization(grpc::ServerContext* context,
                               const v1::GetOrganizationRequest* request,
                               v1::Organization* response) override;
  grpc::Status ListWorkspaces(grpc::ServerContext* context,
                              const v1::ListWorkspacesRequest* request,
                              v1::ListWorkspacesResponse* response) override;
  grpc::Status StreamWorkspaces(
      grpc::ServerContext* context, const v1::ListWorkspacesRequest* request,
      grpc::ServerWriter<v1::ListWorkspacesResponse>* writer) override;
  grpc::Status GetWorkspace(grpc::ServerContext* context,
                            const v1::GetWorkspaceRequest* request,
                            v1::Workspace* response) override;
  grpc::Status ListRoleAssignments(
      grpc::ServerContext* context,
      const v1::ListRoleAssignmentsRequest* request,
      v1::ListRoleAssignmentsResponse* response) override;
  grpc::Status StreamRoleAssignments(
      grpc::ServerContext* context,
      const v1::ListRoleAssignmentsRequest* request,
      grpc::ServerWriter<v1::ListRoleAssignmentsResponse>* writer) override;
  grpc::Status ListRoles(grpc::ServerContext* context,
                         const v1::ListRolesRequest* request,
                         v1::ListRolesResponse* response) override;
  grpc::Status GetRole(grpc::ServerContext* context,
                       const v1::GetRoleRequest* request,
                       v1::Role* response) override;
  grpc::Status WatchDirectory(
      grpc::ServerContext* context, const v1::WatchDirectoryRequest* request,
      grpc::ServerWriter<v1::DirectoryEvent>* writer) override;

  // Enables WatchDirectory (FAILED_PRECONDITION, reason
  // WATCH_NOT_CONFIGURED, without), with at most `max_streams` open at once
  // (RESOURCE_EXHAUSTED, reason WATCH_STREAMS_EXHAUSTED, beyond): each holds
  // a server thread. Not owning.
  void set_watch_engine(watch::WatchEngine* engine, int max_streams = 32) {
    watch_ = engine;
    max_watch_streams_ = max_streams;
  }

 private:
  struct Call;
  // Streams are bulk listings; everything else is interactive.
  absl::StatusOr<Call> Begin(grpc::ServerContext* context,
                             const std::string& account_id,
                             Priority priority = Priority::kInteractive);

  const TenantAuthenticator* const tenants_;
  AccountResolver* const accounts_;
  const ConnectorRegistry* const connectors_;
  const CursorCodec* const cursors_;
  RateBudget* const budget_;
  watch::WatchEngine* watch_ = nullptr;
  int max_watch_streams_ = 32;
  std::atomic<int> watch_streams_{0};
};

}  // namespace unified

#endif  // SERVICE_USER_DIRECTORY_SERVICE_H_
