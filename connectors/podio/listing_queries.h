// How the Podio connector asks Podio for its member listings: the query
// strings of each listing route for a unified UserFilter (search, order,
// role), the filters Podio cannot apply, and the one spelling of each GET
// (docs/podio.md §3, docs/queries.md). Pure functions: no calls.
#ifndef CONNECTORS_PODIO_LISTING_QUERIES_H_
#define CONNECTORS_PODIO_LISTING_QUERIES_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "connectors/connector.h"
#include "proto/unified/v1/resources.pb.h"

namespace unified::podio {

// What a member listing's `query` asks Podio for: the e-mail filter when
// set (the narrower), else the search. Podio matches name or e-mail; the
// other is checked on every row returned (Keeps).
std::string SearchOf(const UserFilter& filter);

// Query suffix of an organization member listing for `filter`: the order
// (name, or last_seen_on and sort_desc for one organization), the role as
// member_type, the search as query. INVALID_ARGUMENT for an order or role
// Podio cannot serve there.
absl::StatusOr<std::string> OrgMemberQuery(const UserFilter& filter);

// The member_type of a workspace member listing for `filter`'s role ("" for
// none). INVALID_ARGUMENT for another order than name, or a role that is
// not a workspace role.
absl::StatusOr<std::string> SpaceMemberType(const UserFilter& filter);

// Which users a member listing returns (merged ones, for organizations):
// the filters Podio cannot apply, checked on every row (the exact e-mail,
// the search, the status).
std::function<bool(const v1::User&)> Keeps(const UserFilter& filter);

// The GETs of the listings, one place each: a pager's guesses and the GETs
// it then needs must agree to the byte, or a page read ahead is wasted.
std::string OrgMembersUrl(int64_t org_id, int limit, int64_t offset,
                          const std::string& extra);
std::string ContactsUrl(int64_t org_id, int limit, int64_t offset);
std::string SpaceMembersUrl(int64_t space_id, int limit, int64_t offset,
                            const std::string& member_type,
                            const std::string& email);
// Phase 0 of the assignment listing reads organization members, phase 1
// workspace members.
std::string AssignmentsUrl(bool org_phase, int64_t id, int limit,
                           int64_t offset);
std::string SpacesUrl(int64_t org_id);

}  // namespace unified::podio

#endif  // CONNECTORS_PODIO_LISTING_QUERIES_H_
