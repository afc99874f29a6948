// The engine's reads of an account's rosters and what it logs of them
// (watch_engine.h). Every departure logged is confirmed: see ConfirmedRead.
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"
#include "service/watch/engine_internal.h"

namespace unified::watch {
namespace {

// The member's role in the workspace or organization `scope_id`, from the
// user's scoped roles.
std::string RoleIn(const v1::User& user, v1::RoleScope scope,
                   const std::string& scope_id) {
  for (const v1::ScopedRole& r : user.roles()) {
    if (r.scope() == scope && r.scope_id() == scope_id) return r.role_id();
  }
  return "";
}

std::string PrimaryEmail(const v1::User& user) {
  for (const v1::Email& e : user.emails()) {
    if (e.is_primary()) return e.email();
  }
  return user.emails_size() > 0 ? user.emails(0).email() : user.username();
}

// A snapshot in which the provider sent rows that could not be read is
// partial: a member missing from it may only be unreadable. It is not
// applied, so no departure is ever inferred from it; the next poll reads it
// again.
bool Partial(const AccountRef& a, absl::string_view what, int64_t unreadable) {
  if (unreadable == 0) return false;
  Log(a, what,
      absl::DataLossError(
          absl::StrCat(unreadable,
                       " unreadable rows from the provider; this snapshot is "
                       "not applied")));
  return true;
}

// One complete read of a roster; nullopt when it is partial (Partial).
template <typename Roster>
using Read = std::function<absl::StatusOr<std::optional<Roster>>()>;

// The rule behind every departure the engine logs: a member the store holds
// has left only when two reads in a row miss it. One read of an offset-paged
// listing can lose a row when the provider's data moves under it (a member
// removed before the offset shifts the rest one place back); the re-read,
// made only when the first misses someone, misses the same member only when
// they are gone. A member either read saw is kept: one who left between the
// reads is logged by the next poll, never one who stayed. `keep` adds to the
// second read what only the first saw. `rereads` counts the re-reads.
template <typename Roster>
absl::StatusOr<std::optional<Roster>> ConfirmedRead(
    const Read<Roster>& read, const std::function<bool(const Roster&)>& misses,
    const std::function<void(const Roster&, Roster*)>& keep, int64_t* rereads) {
  ASSIGN_OR_RETURN(std::optional<Roster> first, read());
  if (!first || !misses(*first)) return first;
  ++*rereads;
  ASSIGN_OR_RETURN(std::optional<Roster> second, read());
  if (second) keep(*first, &*second);
  return second;
}

using Members = std::vector<ObservedMember>;

absl::StatusOr<std::optional<Members>> ReadWorkspaceMembers(
    DirectoryConnector& connector, CallContext& ctx, const AccountRef& a,
    const std::string& workspace_id, int page_limit) {
  Members members;
  UserFilter filter;
  filter.workspace_id = workspace_id;
  PageRequest page;
  page.limit = page_limit;
  int64_t unreadable = 0;
  do {
    ASSIGN_OR_RETURN(Page<v1::User> users,
                     connector.ListUsers(ctx, filter, page));
    unreadable += users.unreadable;
    for (const v1::User& u : users.items) {
      members.push_back({u.id(),
                         RoleIn(u, v1::ROLE_SCOPE_WORKSPACE, workspace_id),
                         u.name(), PrimaryEmail(u)});
    }
    page.page_token = users.next_page_token;
  } while (!page.page_token.empty());
  if (Partial(a, absl::StrCat("members of workspace ", workspace_id),
              unreadable)) {
    return std::nullopt;
  }
  return members;
}

using Workspaces = std::vector<ObservedWorkspace>;

absl::StatusOr<std::optional<Workspaces>> ReadWorkspaces(
    DirectoryConnector& connector, CallContext& ctx, const AccountRef& a,
    int page_limit) {
  Workspaces visible;
  PageRequest page;
  page.limit = page_limit;
  int64_t unreadable = 0;
  do {
    ASSIGN_OR_RETURN(Page<v1::Workspace> spaces,
                     connector.ListWorkspaces(ctx, "", page));
    unreadable += spaces.unreadable;
    for (const v1::Workspace& s : spaces.items) {
      visible.push_back({s.id(), s.name()});
    }
    page.page_token = spaces.next_page_token;
  } while (!page.page_token.empty());
  if (Partial(a, "workspaces", unreadable)) return std::nullopt;
  return visible;
}

using Orgs = std::map<std::string, ObservedOrg>;

// The user listing across every organization the account sees: each user's
// organizations, and the role each gives, in its fewest calls (one
// organization list, then pages of members, each read once by the
// connector's iterator). A user's status is the listing's, the same in each
// of their organizations.
absl::StatusOr<std::optional<Orgs>> ReadOrgs(DirectoryConnector& connector,
                                             CallContext& ctx,
                                             const AccountRef& a,
                                             int page_limit) {
  Orgs orgs;
  PageRequest start;
  start.limit = page_limit;
  std::unique_ptr<PageIterator<v1::User>> pages =
      connector.IterateUsers(ctx, UserFilter(), start);
  Page<v1::User> listed;
  int64_t unreadable = 0;
  while (pages->Next(&listed)) {
    unreadable += listed.unreadable;
    for (const v1::User& u : listed.items) {
      for (const v1::OrganizationRef& ref : u.organizations()) {
        ObservedOrg& org = orgs[ref.id()];
        org.id = ref.id();
        org.name = ref.name();
        // The membership's own status where the provider gives it (an
        // invitation to this organization of a user active in another).
        const v1::UserStatus status =
            ref.membership_status() != v1::USER_STATUS_UNSPECIFIED
                ? ref.membership_status()
                : u.status();
        org.members.push_back(
            {u.id(), RoleIn(u, v1::ROLE_SCOPE_ORGANIZATION, ref.id()),
             static_cast<int>(status), u.name(), PrimaryEmail(u)});
      }
    }
    if (listed.next_page_token.empty()) break;
  }
  RETURN_IF_ERROR(pages->status());
  if (Partial(a, "organization members", unreadable)) return std::nullopt;
  return orgs;
}

template <typename T>
std::set<std::string> IdsOf(const std::vector<T>& list, std::string T::*id) {
  std::set<std::string> out;
  for (const T& item : list) out.insert(item.*id);
  return out;
}

// Adds to `second` the items of `first` whose id it lacks.
template <typename T>
void KeepFirst(const std::vector<T>& first, std::vector<T>* second,
               std::string T::*id) {
  const std::set<std::string> seen = IdsOf(*second, id);
  for (const T& item : first) {
    if (!seen.count(item.*id)) second->push_back(item);
  }
}

// ConfirmedRead of a list of items with ids (`id`), of which the store
// holds `held`: read again when one is missing, keeping what either read
// saw.
template <typename T>
absl::StatusOr<std::optional<std::vector<T>>> ConfirmedList(
    const Read<std::vector<T>>& read, const std::set<std::string>& held,
    std::string T::*id, int64_t* rereads) {
  return ConfirmedRead<std::vector<T>>(
      read,
      [&held, id](const std::vector<T>& list) {
        const std::set<std::string> seen = IdsOf(list, id);
        return std::any_of(held.begin(), held.end(), [&](const std::string& h) {
          return seen.count(h) == 0;
        });
      },
      [id](const std::vector<T>& first, std::vector<T>* second) {
        KeepFirst(first, second, id);
      },
      rereads);
}

void KeepOrgMembers(const Orgs& first, Orgs* second) {
  for (const auto& [id, org] : first) {
    ObservedOrg& into = (*second)[id];
    if (into.id.empty()) {
      into.id = org.id;
      into.name = org.name;
    }
    KeepFirst(org.members, &into.members, &ObservedOrgMember::user_id);
  }
}

}  // namespace

absl::Status WatchEngine::ReconcileWorkspace(
    Work& w, const std::string& workspace_id, Source source, bool baseline,
    int64_t dirty_gen, const std::vector<std::string>& order,
    const Snapshot* stored) {
  std::set<std::string> held;
  if (!baseline) {
    Snapshot read;
    if (stored == nullptr) {
      ASSIGN_OR_RETURN(read, store_->roster().ReadSnapshot(w.account));
      stored = &read;
    }
    for (const auto& [ws, member] : stored->members) {
      if (ws == workspace_id) held.insert(member.user_id);
    }
  }
  int64_t rereads = 0;
  ASSIGN_OR_RETURN(std::optional<Members> members,
                   ConfirmedList<ObservedMember>(
                       [&] {
                         return ReadWorkspaceMembers(*w.connector, w.ctx,
                                                     w.account, workspace_id,
                                                     options_.page_limit);
                       },
                       held, &ObservedMember::user_id, &rereads));
  CountRereads(rereads);
  if (!members) return absl::OkStatus();
  ASSIGN_OR_RETURN(
      std::vector<StoredEvent> events,
      store_->roster().ApplyMembers(w.account, workspace_id, *members, source,
                                    clock_->Now(), baseline, dirty_gen, order));
  Notify(w.account, events);
  return absl::OkStatus();
}

absl::Status WatchEngine::Reconcile(Work& w, Source source, bool baseline) {
  Snapshot stored;
  if (!baseline) {
    ASSIGN_OR_RETURN(stored, store_->roster().ReadSnapshot(w.account));
  }
  const std::set<std::string> held =
      IdsOf(stored.workspaces, &ObservedWorkspace::id);
  int64_t rereads = 0;
  ASSIGN_OR_RETURN(std::optional<Workspaces> visible,
                   ConfirmedList<ObservedWorkspace>(
                       [&] {
                         return ReadWorkspaces(*w.connector, w.ctx, w.account,
                                               options_.page_limit);
                       },
                       held, &ObservedWorkspace::id, &rereads));
  CountRereads(rereads);
  if (!visible) {
    // Partial: the workspaces the store knows are still read.
    visible = stored.workspaces;
  } else {
    ASSIGN_OR_RETURN(std::vector<StoredEvent> events,
                     store_->roster().ApplyWorkspaces(
                         w.account, *visible, source, clock_->Now(), baseline));
    Notify(w.account, events);
  }
  for (const ObservedWorkspace& ws : *visible) {
    RETURN_IF_ERROR(ReconcileWorkspace(w, ws.id, source, baseline, 0, {},
                                       baseline ? nullptr : &stored));
    if (!options_.hook_base_url.empty() && w.webhooks != nullptr) {
      if (absl::Status s = EnsureHooks(w, ws.id); !s.ok()) {
        // The poll still covers the workspace; a rate refusal (the budget,
        // the poll's share, the provider's limit) ends the pass.
        if (IsRateRefusal(s)) {
          return s;
        }
        Log(w.account, absl::StrCat("hooks of workspace ", ws.id), s);
      }
    }
  }
  // Last: an organization's member listing can be long, and the workspace
  // rosters (hooks or not) must not wait for it within the poll's share.
  return ReconcileOrganizations(w, source, baseline, stored);
}

absl::Status WatchEngine::ReconcileOrganizations(Work& w, Source source,
                                                 bool baseline,
                                                 const Snapshot& stored) {
  int64_t rereads = 0;
  ASSIGN_OR_RETURN(std::optional<Orgs> orgs,
                   ConfirmedRead<Orgs>(
                       [&] {
                         return ReadOrgs(*w.connector, w.ctx, w.account,
                                         options_.page_limit);
                       },
                       [&](const Orgs& o) {
                         std::set<std::pair<std::string, std::string>> seen;
                         for (const auto& [id, org] : o) {
                           for (const ObservedOrgMember& m : org.members) {
                             seen.emplace(id, m.user_id);
                           }
                         }
                         for (const auto& [key, member] : stored.org_members) {
                           if (!seen.count(key)) return true;
                         }
                         return false;
                       },
                       KeepOrgMembers, &rereads));
  CountRereads(rereads);
  if (!orgs) return absl::OkStatus();
  std::vector<ObservedOrg> observed;
  for (auto& [id, org] : *orgs) observed.push_back(std::move(org));
  ASSIGN_OR_RETURN(std::vector<StoredEvent> events,
                   store_->roster().ApplyOrgMembers(w.account, observed, source,
                                                    clock_->Now(), baseline));
  Notify(w.account, events);
  return absl::OkStatus();
}

void WatchEngine::CountRereads(int64_t rereads) {
  if (rereads > 0 && options_.on_rereads) options_.on_rereads(rereads);
}

}  // namespace unified::watch
