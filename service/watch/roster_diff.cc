// The pure side of WatchDirectory's store (watch_store.h): what an observed
// roster changes of a stored one, and the events that says, with no
// database and no clock.
#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "service/watch/watch_store.h"

namespace unified::watch {

StoredOrgMembers Keyed(const std::vector<ObservedOrg>& observed) {
  StoredOrgMembers out;
  for (const ObservedOrg& org : observed) {
    for (const ObservedOrgMember& m : org.members) {
      out.emplace(std::make_pair(org.id, m.user_id),
                  std::make_pair(org.name, m));
    }
  }
  return out;
}

std::pair<RosterDiff, std::vector<StoredEvent>> DiffRoster(
    const std::string& workspace_id, const std::string& workspace_name,
    const std::map<std::string, ObservedMember>& stored,
    const std::map<std::string, ObservedMember>& known_users,
    const std::vector<ObservedMember>& observed, bool baseline,
    const std::vector<std::string>& order_hint) {
  RosterDiff diff;
  std::vector<StoredEvent> pending;
  auto event = [&](EventType type, const ObservedMember& m) {
    StoredEvent e;
    e.type = type;
    e.workspace_id = workspace_id;
    e.workspace_name = workspace_name;
    e.user_id = m.user_id;
    e.user_name = m.name;
    e.email = m.email;
    return e;
  };
  // Observed members in a stable order, so that replicas and retries log
  // the same sequence for the same change.
  std::map<std::string, const ObservedMember*> by_id;
  for (const ObservedMember& m : observed) by_id[m.user_id] = &m;
  for (const auto& [user_id, mp] : by_id) {
    const ObservedMember& m = *mp;
    auto known = known_users.find(user_id);
    if (known == known_users.end()) {
      diff.new_users.push_back(m);
    } else if (known->second.name != m.name || known->second.email != m.email) {
      diff.renamed_users.push_back(m);
      // Logged once: the first workspace that sees the change updates the
      // shared record. A known user joining this workspace in the same
      // read is renamed too: watchers of the user's other workspaces learn
      // the new name only from this event.
      if (!baseline) {
        StoredEvent e = event(EventType::kUserUpdated, m);
        e.workspace_id.clear();
        e.workspace_name.clear();
        pending.push_back(std::move(e));
      }
    }
    auto it = stored.find(user_id);
    if (it == stored.end()) {
      diff.joined.push_back(m);
      if (!baseline) {
        StoredEvent e = event(EventType::kMemberAdded, m);
        e.role_id = m.role_id;
        pending.push_back(std::move(e));
      }
    } else if (it->second.role_id != m.role_id) {
      diff.role_changed.push_back(m);
      if (!baseline) {
        StoredEvent e = event(EventType::kRoleChanged, m);
        e.role_id = m.role_id;
        e.previous_role_id = it->second.role_id;
        pending.push_back(std::move(e));
      }
    }
  }
  for (const auto& [user_id, m] : stored) {
    if (by_id.count(user_id)) continue;
    diff.left.push_back(user_id);
    if (!baseline) {
      StoredEvent e = event(EventType::kMemberRemoved, m);
      e.previous_role_id = m.role_id;
      pending.push_back(std::move(e));
    }
  }
  // Users a hook named come in the order their deliveries arrived (a read
  // may see several changes at once); the others after them, by id.
  std::map<std::string, size_t> rank;
  for (const std::string& user : order_hint) rank.emplace(user, rank.size());
  auto rank_of = [&](const StoredEvent& e) {
    auto it = rank.find(e.user_id);
    return it == rank.end() ? rank.size() : it->second;
  };
  std::stable_sort(pending.begin(), pending.end(),
                   [&](const StoredEvent& x, const StoredEvent& y) {
                     return rank_of(x) < rank_of(y);
                   });
  return {std::move(diff), std::move(pending)};
}

std::vector<StoredEvent> DiffOrgRosters(
    const StoredOrgMembers& stored, const std::vector<ObservedOrg>& observed) {
  auto event = [](EventType type, const std::string& org_id,
                  const std::string& org_name, const ObservedOrgMember& m) {
    StoredEvent e;
    e.type = type;
    e.org_id = org_id;
    e.org_name = org_name;
    e.user_id = m.user_id;
    e.user_name = m.name;
    e.email = m.email;
    return e;
  };
  const StoredOrgMembers seen = Keyed(observed);
  std::vector<StoredEvent> out;
  // Both maps are ordered by (org id, user id): one merge pass.
  auto s = stored.begin();
  auto o = seen.begin();
  while (s != stored.end() || o != seen.end()) {
    if (o == seen.end() || (s != stored.end() && s->first < o->first)) {
      StoredEvent e = event(EventType::kOrgMemberRemoved, s->first.first,
                            s->second.first, s->second.second);
      e.previous_role_id = s->second.second.role_id;
      e.previous_status = s->second.second.status;
      out.push_back(std::move(e));
      ++s;
      continue;
    }
    const ObservedOrgMember& now = o->second.second;
    if (s == stored.end() || o->first < s->first) {
      StoredEvent e = event(EventType::kOrgMemberAdded, o->first.first,
                            o->second.first, now);
      e.role_id = now.role_id;
      e.status = now.status;
      out.push_back(std::move(e));
      ++o;
      continue;
    }
    const ObservedOrgMember& before = s->second.second;
    if (now.status != before.status) {
      StoredEvent e = event(EventType::kUserStatusChanged, o->first.first,
                            o->second.first, now);
      e.role_id = now.role_id;
      e.status = now.status;
      e.previous_status = before.status;
      out.push_back(std::move(e));
    }
    if (now.role_id != before.role_id) {
      StoredEvent e = event(EventType::kOrgRoleChanged, o->first.first,
                            o->second.first, now);
      e.role_id = now.role_id;
      e.previous_role_id = before.role_id;
      e.status = now.status;
      out.push_back(std::move(e));
    }
    ++s;
    ++o;
  }
  return out;
}

}  // namespace unified::watch
