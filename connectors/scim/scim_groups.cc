#include "connectors/scim/scim_groups.h"

#include "absl/strings/str_cat.h"
#include "connectors/common/status_macros.h"
#include "connectors/scim/scim_mappers.h"

namespace unified::scim {

absl::Status AddGroupsOf(
    const std::string& user_id,
    const std::function<absl::StatusOr<json::Body>(const std::string&)>& get,
    json::Body* doc) {
  rapidjson::Value groups(rapidjson::kArrayType);
  auto& alloc = doc->allocator();
  for (int64_t start = 1;;) {
    ASSIGN_OR_RETURN(
        json::Body page,
        get(absl::StrCat("/Groups?startIndex=", start, "&count=100")));
    ASSIGN_OR_RETURN(ListPage list, ReadListPage(page));
    if (list.resources == nullptr || list.size() == 0) break;
    for (const rapidjson::Value& g : list.resources->GetArray()) {
      const rapidjson::Value* members = json::Find(g, "members");
      if (members == nullptr || !members->IsArray()) continue;
      for (const rapidjson::Value& m : members->GetArray()) {
        if (json::View(m, "value") != user_id) continue;
        rapidjson::Value ref(rapidjson::kObjectType);
        ref.AddMember("value", rapidjson::Value(json::StringOr(g, "id"), alloc),
                      alloc);
        ref.AddMember("display",
                      rapidjson::Value(json::StringOr(g, "displayName"), alloc),
                      alloc);
        groups.PushBack(ref, alloc);
      }
    }
    start += list.size();
    if (start - 1 >= list.total_results) break;
  }
  doc->mutable_root().AddMember("groups", groups, alloc);
  return absl::OkStatus();
}

}  // namespace unified::scim
