// The Podio directory connector: the unified listings built from Podio's
// routes with the fewest calls the API allows (docs/podio.md §3).
//
// - Users, no filter or organization_id: each organization's member listing
//   (GET /org/{id}/member/?sort_by=name, org admins only) is read in pages
//   and the listings are merged by (name, user id), so a user in several
//   organizations is emitted once with all of them, holding at most one
//   upstream page per organization in memory. UNCONFIRMED assumption: Podio
//   orders every organization's members by the same name collation; the
//   simulator orders by UTF-8 bytes, then user id. An account that is no
//   admin of an organization (403) reads GET /contact/org/{id} instead: the
//   active members it can see, without roles.
// - Users with workspace_id: GET /space/{id}/member/v2/ pages.
// - Organizations: GET /org/ (unpaged upstream), paged here.
// - Workspaces: GET /org/{id}/space/ per organization.
// - Role assignments: organization roles from the member listings, then
//   workspace roles from each workspace's v2 member listing; for one user,
//   GET /org/{id}/member/{user_id} and .../space_member/ per organization.
#ifndef CONNECTORS_PODIO_PODIO_CONNECTOR_H_
#define CONNECTORS_PODIO_PODIO_CONNECTOR_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "connectors/connector.h"
#include "connectors/podio/pagers.h"
#include "connectors/podio/podio_client.h"

namespace unified::podio {

// Takes ownership of nothing; `client` must outlive the connector.
std::unique_ptr<DirectoryConnector> NewPodioConnector(
    PodioClient* client, const PodioConnectorOptions& options = {});

}  // namespace unified::podio

#endif  // CONNECTORS_PODIO_PODIO_CONNECTOR_H_
