// A SCIM provider without the optional `groups` attribute of users, nor
// its filter (RFC 7643 §4.1.2; SCIMMY is one): group membership is read
// from the groups' `members` instead (docs/scim.md, "Groups").
#ifndef CONNECTORS_SCIM_SCIM_GROUPS_H_
#define CONNECTORS_SCIM_SCIM_GROUPS_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "connectors/common/json.h"
#include "connectors/scim/scim_listings.h"
#include "proto/unified/v1/resources.pb.h"

namespace unified::scim {

// What a group's `members` (its precondition's answer) say, for a
// provider without the `groups` filter: who is in it, and its name.
struct GroupMembers {
  absl::flat_hash_set<std::string> ids;
  std::string name;
  // Makes `user` a member of `group` (the provider's User resource does
  // not say so).
  void Mark(const std::string& group, v1::User* user) const {
    for (const v1::WorkspaceRef& ws : user->workspaces()) {
      if (ws.id() == group) return;
    }
    v1::WorkspaceRef* ws = user->add_workspaces();
    ws->set_id(group);
    ws->set_name(name);
    v1::ScopedRole* role = user->add_roles();
    role->set_role_id("workspace.member");
    role->set_name("Group member");
    role->set_scope(v1::ROLE_SCOPE_WORKSPACE);
    role->set_scope_id(group);
  }
};

// Turns a listing over users into one over `group`'s members: the group
// is read first (with its members), every user page is read and only
// they are kept; pages are filled across answers. The caller's map marks
// each user a member (GroupMembers::Mark).
template <typename T>
std::shared_ptr<GroupMembers> FromGroupMembers(const std::string& group,
                                               ScimListing<T>* listing) {
  auto members = std::make_shared<GroupMembers>();
  listing->precondition = "/Groups/" + group;
  listing->on_precondition = [members](const rapidjson::Value& g) {
    members->name = json::StringOr(g, "displayName");
    if (const rapidjson::Value* list = json::Find(g, "members");
        list != nullptr && list->IsArray()) {
      for (const rapidjson::Value& m : list->GetArray()) {
        members->ids.insert(json::StringOr(m, "value"));
      }
    }
    return absl::OkStatus();
  };
  auto check = std::move(listing->keep);
  listing->keep = [members, check](const rapidjson::Value& r) {
    return members->ids.count(json::StringOr(r, "id")) > 0 &&
           (!check || check(r));
  };
  listing->fill_pages = true;
  listing->total_counts_records = false;
  return members;
}

// Adds to the User resource `doc` the `groups` attribute its provider
// leaves out: every group whose members name `user_id`, read a page of
// groups at a time through `get` (a GET of a path, its JSON).
absl::Status AddGroupsOf(
    const std::string& user_id,
    const std::function<absl::StatusOr<json::Body>(const std::string&)>& get,
    json::Body* doc);

}  // namespace unified::scim

#endif  // CONNECTORS_SCIM_SCIM_GROUPS_H_
