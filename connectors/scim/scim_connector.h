// The SCIM 2.0 directory connector (RFC 7643, RFC 7644; docs/scim.md):
//
// - Users: GET /Users with startIndex/count, filtered by the provider
//   (`emails.value eq`, `groups.value eq` for a workspace, `active eq`).
// - Workspaces are Groups (GET /Groups, members excluded); a group's members
//   hold workspace.member.
// - One organization, the directory itself.
// - Role assignments: from each user's roles and groups.
// - Page sizes are capped by ServiceProviderConfig's filter.maxResults,
//   read once; a provider that cannot filter is refused filtered listings.
// - Requests go through the shared pipeline with bearer tokens; a 429 stops
//   the identity for its Retry-After.
#ifndef CONNECTORS_SCIM_SCIM_CONNECTOR_H_
#define CONNECTORS_SCIM_SCIM_CONNECTOR_H_

#include <memory>
#include <string>

#include "connectors/common/listing_driver.h"
#include "connectors/common/request_pipeline.h"
#include "connectors/connector.h"

namespace unified::scim {

// SCIM's steps of the shared pipeline: `Authorization: Bearer`, any 401 is
// an expired token (refreshed once), 429 stops for Retry-After.
class ScimProtocol : public UpstreamProtocol {
 public:
  std::string display_name() const override { return "the SCIM provider"; }
  void Authorize(const std::string& token, HttpRequest& attempt) const override;
  bool IsExpiredToken(const HttpResponse& response) const override;
  RateSignal ReadRateSignal(const HttpResponse& response) const override;
};

struct ScimConnectorOptions {
  // The organization the directory is shown as.
  std::string organization_name = "SCIM directory";
  // How streams read pages ahead (docs/streaming.md); only when the
  // pipeline has an async client.
  ReadAheadOptions ahead;
};

// `pipeline` must outlive the connector.
std::unique_ptr<DirectoryConnector> NewScimConnector(
    RequestPipeline* pipeline, ScimConnectorOptions options = {});

}  // namespace unified::scim

#endif  // CONNECTORS_SCIM_SCIM_CONNECTOR_H_
