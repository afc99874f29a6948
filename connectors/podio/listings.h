// The Podio connector's listings, each one pager (connectors/common/
// pager.h) that the shared driver runs for both the paged List calls and
// the streams (docs/podio.md §3, docs/streaming.md). Pure: the pagers name
// the GETs they need and read the answers; they never call.
//
//   users of organizations  GET /org/ (or /org/{id}), then each
//                           organization's members (or, for an account that
//                           is no organization admin, its contacts), merged
//                           by name across organizations;
//   users of a workspace    GET /space/{id}, then its members (v2);
//   organizations           GET /org/, the whole list;
//   workspaces              GET /org/ (or /org/{id}), then each
//                           organization's spaces;
//   role assignments        the organizations' members (their organization
//                           roles), then every workspace's members (their
//                           workspace roles); or one workspace's.
//
// A pager opens from its page token (INVALID_CURSOR for another listing's)
// or, with none, from the listing's first request.
#ifndef CONNECTORS_PODIO_LISTINGS_H_
#define CONNECTORS_PODIO_LISTINGS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "connectors/common/pager.h"
#include "connectors/connector.h"
#include "connectors/podio/pagers.h"
#include "connectors/common/call_context.h"
#include "proto/unified/v1/resources.pb.h"

namespace unified::podio {

// `sizes` is the connector's, and outlives the pagers. `refusals` (may be
// null: nothing kept) remembers the organizations whose members route
// refused the account, whose contacts are then read at once.
absl::StatusOr<std::unique_ptr<Pager<v1::User>>> NewUsersPager(
    PageSizes* sizes, const UserFilter& filter, const PageRequest& page,
    RefusalMemory* refusals = nullptr);

absl::StatusOr<std::unique_ptr<Pager<v1::Organization>>> NewOrganizationsPager(
    const PageRequest& page);

absl::StatusOr<std::unique_ptr<Pager<v1::Workspace>>> NewWorkspacesPager(
    const std::string& organization_id, const PageRequest& page);

// Not for a user's assignments (filter.user_id), which are no listing.
absl::StatusOr<std::unique_ptr<Pager<v1::RoleAssignment>>> NewAssignmentsPager(
    PageSizes* sizes, const RoleAssignmentFilter& filter,
    const PageRequest& page);

}  // namespace unified::podio

#endif  // CONNECTORS_PODIO_LISTINGS_H_
