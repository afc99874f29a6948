// Fuzz target: provider JSON through the defensive parser and every Podio
// mapper. Must never crash, hang or hand back invalid UTF-8; a member page
// read from its text must map as its document does.
#include <cstddef>
#include <cstdint>
#include <string>

#include "connectors/common/json.h"
#include "connectors/podio/mappers.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/message_differencer.h"

namespace {

void MapAll(const rapidjson::Value& value) {
  using namespace unified;
  v1::OrganizationRef org;
  org.set_id("1");
  v1::WorkspaceRef ws;
  ws.set_id("2");
  (void)podio::MapOrgMember(value, org, true);
  (void)podio::MapSpaceMemberV2(value, ws, true);
  (void)podio::MapOrganization(value, true);
  (void)podio::MapSpace(value, org, true);
  (void)podio::ReadOrgList(value);
  (void)podio::ReadSpaceList(value);
  (void)podio::MapSpaceMemberships(value);
  (void)podio::MapMemberAssignment(value, v1::ROLE_SCOPE_WORKSPACE, 2, "w");
  v1::User me;
  (void)podio::AddMemberships(value, &me);
  if (absl::StatusOr<v1::User> me = podio::MapUserStatus(value, true);
      me.ok()) {
    // Whatever went in, what comes out serializes (strings are UTF-8).
    std::string bytes;
    if (!me->SerializeToString(&bytes)) __builtin_trap();
  }
}

// A page read from its text (no document) gives the verdict and the rows
// the document gives, row by row.
void PageAgrees(const std::string& text,
                const absl::StatusOr<rapidjson::Document>& doc) {
  using namespace unified;
  v1::OrganizationRef org;
  org.set_id("1");
  v1::WorkspaceRef ws;
  ws.set_id("2");
  for (const int kind : {0, 1, 2}) {  // Members, contacts, space members.
    auto page = kind == 2
                    ? podio::MapSpaceMemberPage(text, ws, false)
                    : podio::MapOrgMemberPage(text, org, kind == 1, false);
    if (page.ok() != (doc.ok() && doc->IsArray())) __builtin_trap();
    if (!page.ok()) continue;
    if (page->size() != doc->Size()) __builtin_trap();
    for (size_t i = 0; i < page->size(); ++i) {
      const rapidjson::Value& row = (*doc)[static_cast<rapidjson::SizeType>(i)];
      auto alone = kind == 0   ? podio::MapOrgMember(row, org, false)
                   : kind == 1 ? podio::MapOrgContact(row, org, false)
                               : podio::MapSpaceMemberV2(row, ws, false);
      const auto& mapped = (*page)[i];
      if (mapped.ok() != alone.ok()) __builtin_trap();
      if (mapped.ok() && !google::protobuf::util::MessageDifferencer::Equals(
                             *mapped, *alone)) {
        __builtin_trap();
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)unified::json::CheckUtf8(text);
  absl::StatusOr<rapidjson::Document> doc = unified::json::Parse(text);
  absl::StatusOr<unified::json::Body> body = unified::json::ParseOwned(text);
  if (doc.ok() != body.ok()) __builtin_trap();  // Same verdict both ways.
  PageAgrees(text, doc);
  if (!doc.ok()) return 0;
  MapAll(*doc);
  if (doc->IsArray()) {
    for (const auto& element : doc->GetArray()) MapAll(element);
  }
  google::protobuf::Value value;
  unified::json::ToProtoValue(*doc, &value, unified::podio::SecretKeys());
  return 0;
}
