// Fuzz target: SCIM answers (resources, list responses, service provider
// configuration, error bodies, Retry-After) through the SCIM connector's
// mappers and error table.
#include <cstddef>
#include <cstdint>
#include <string>

#include "connectors/common/error_details.h"
#include "connectors/common/json.h"
#include "connectors/scim/scim_errors.h"
#include "connectors/scim/scim_mappers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const int status = 100 + (data[0] << 8 | data[1]) % 500;
  const std::string text(reinterpret_cast<const char*>(data + 2), size - 2);
  const absl::Status s = unified::scim::StatusForScimError(status, text, text);
  if (s.ok() || !unified::GetErrorInfo(s).has_value()) __builtin_trap();
  (void)unified::scim::ParseRetryAfter(text);
  absl::StatusOr<rapidjson::Document> doc = unified::json::Parse(text);
  if (!doc.ok()) return 0;
  unified::v1::OrganizationRef org;
  org.set_id(unified::scim::kOrganizationId);
  if (auto user = unified::scim::MapUser(*doc, org, true); user.ok()) {
    (void)unified::scim::AssignmentsOf(*user);
  }
  (void)unified::scim::MapGroup(*doc, org, true);
  if (auto page = unified::scim::ReadListPage(*doc); page.ok()) {
    if (page->resources != nullptr && page->size() < 0) __builtin_trap();
  }
  (void)unified::scim::ReadCapabilities(*doc);
  return 0;
}
