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
#include "connectors/podio/podio_client.h"

namespace unified::podio {

// Podio's paged listings, each with a page size of its own.
enum class PagedRoute {
  kOrgMembers = 0,    // GET /org/{id}/member/
  kOrgContacts = 1,   // GET /contact/org/{id}
  kSpaceMembers = 2,  // GET /space/{id}/member/v2/
};
inline constexpr int kPagedRoutes = 3;

struct PodioConnectorOptions {
  // The `limit` asked of each paged route (docs/podio.md §3, "Page size"):
  // Podio's maximum is unconfirmed (some sources say 100), so a route that
  // answers 400 to a limit is asked again with a smaller one, which is then
  // kept for every later call of this connector: 100 first, then halves,
  // never below `min_page_size`.
  int page_size[kPagedRoutes] = {500, 500, 500};
  int min_page_size = 10;
};

// Parses "org_members=500,org_contacts=100,space_members=100" (any subset)
// over `options`. INVALID_ARGUMENT names a bad entry.
absl::Status ParsePageSizes(absl::string_view text,
                            PodioConnectorOptions* options);

// Takes ownership of nothing; `client` must outlive the connector.
std::unique_ptr<DirectoryConnector> NewPodioConnector(
    PodioClient* client, PodioConnectorOptions options = {});

}  // namespace unified::podio

#endif  // CONNECTORS_PODIO_PODIO_CONNECTOR_H_
