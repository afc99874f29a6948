#include "tools/conformance/churn.h"

#include <algorithm>
#include <memory>

namespace unified::conformance {
namespace {

// Change `n`: a removal of a member spread over the listing's order (most
// of them before the listing's position by the end), or an addition.
absl::Status Change(Target& target, const ChurnScope& scope, int n,
                    std::vector<std::string>& victims) {
  if (n % 2 != 0) return target.AddMember(scope.org, scope.workspace).status();
  if (victims.empty()) return absl::OkStatus();
  const size_t at = (static_cast<size_t>(n) * 7919) % victims.size();
  const std::string victim = victims[at];
  victims.erase(victims.begin() + static_cast<long>(at));
  return target.RemoveMember(scope.org, scope.workspace, victim);
}

void Judge(ChurnWalk& walk) {
  const std::set<std::string> listed(walk.ids.begin(), walk.ids.end());
  walk.repeated = static_cast<int>(walk.ids.size() - listed.size());
  for (const std::string& id : walk.before) {
    if (walk.after.count(id) && !listed.count(id)) ++walk.missing;
    if (!walk.after.count(id)) ++walk.left;
  }
  for (const std::string& id : walk.after) {
    if (!walk.before.count(id)) ++walk.joined;
  }
  for (const std::string& id : listed) {
    if (!walk.before.count(id) && !walk.after.count(id)) ++walk.strangers;
  }
}

}  // namespace

ChurnScope LargestScopes(Target& target) {
  const Truth truth = target.truth();
  ChurnScope scope;
  scope.me = truth.me;
  if (truth.organizations.empty()) return scope;
  scope.org = *truth.organizations.begin();
  const std::set<std::string>& org = truth.organization_members.at(scope.org);
  for (const auto& [id, members] : truth.workspace_members) {
    if (members.empty() || !org.count(*members.begin())) continue;
    if (scope.workspace.empty() ||
        members.size() > truth.workspace_members.at(scope.workspace).size()) {
      scope.workspace = id;
    }
  }
  return scope;
}

std::set<std::string> MembersOf(Target& target, const ChurnScope& scope) {
  const Truth truth = target.truth();
  auto it = scope.workspace.empty()
                ? truth.organization_members.find(scope.org)
                : truth.workspace_members.find(scope.workspace);
  const auto end = scope.workspace.empty() ? truth.organization_members.end()
                                           : truth.workspace_members.end();
  return it == end ? std::set<std::string>() : it->second;
}

ChurnWalk WalkMembers(Target& target, const ChurnScope& scope, bool paged,
                      bool churn) {
  ChurnWalk out;
  out.before = MembersOf(target, scope);
  const int page_size =
      std::clamp(static_cast<int>(out.before.size()) / 50, 10, 100);
  UserFilter filter;
  filter.organization_id = scope.org;
  filter.workspace_id = scope.workspace;
  PageRequest start;
  start.limit = page_size;
  CallContext ctx = target.Context();
  DirectoryConnector& c = target.connector();
  std::unique_ptr<PageIterator<v1::User>> it =
      UserPages(c, ctx, filter, start, paged);
  std::vector<std::string> victims;
  if (churn) {
    for (const std::string& id : out.before) {
      if (id != scope.me) victims.push_back(id);
    }
  }
  const int64_t first = target.Requests();
  Page<v1::User> page;
  for (int n = 0; it->Next(&page); ++n) {
    for (const v1::User& u : page.items) out.ids.push_back(u.id());
    if (churn && n < kChurnChanges) {
      if (absl::Status s = Change(target, scope, n, victims); !s.ok()) {
        out.status = s;
        return out;
      }
    }
    if (page.next_page_token.empty()) break;
  }
  out.status = it->status();
  out.calls = target.Requests() - first;
  out.after = MembersOf(target, scope);
  Judge(out);
  return out;
}

}  // namespace unified::conformance
