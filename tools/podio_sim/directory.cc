#include "tools/podio_sim/directory.h"

#include <algorithm>
#include <array>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace unified::podio_sim {
namespace {

// SplitMix64: tiny, fast and identical on every platform (unlike the standard
// library's distributions), which keeps generated data reproducible.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  // True with probability p.
  bool Chance(double p) {
    return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p;
  }

 private:
  uint64_t state_;
};

// Unicode on purpose: the connector must carry any UTF-8 name intact.
constexpr std::array<const char*, 32> kFirstNames = {
    "Åsa",     "Björn", "Zoë",   "José",  "Łukasz",   "Ngọc", "Søren",
    "Chloé",   "Anna",  "Jonas", "Emma",  "Liam",     "Noah", "Olivia",
    "Ava",     "Mateo", "Aiko",  "Yūki",  "Fatima",   "Omar", "Inès",
    "Sven",    "Ilse",  "Kai",   "Leïla", "François", "Nuño", "Ángel",
    "Dmitrij", "Mia",   "Ola",   "Ruth"};
constexpr std::array<const char*, 32> kLastNames = {
    "Öberg",  "Núñez",    "Müller", "Ødegaard", "Smith",        "Johnson",
    "García", "Kowalski", "Nguyễn", "Tanaka",   "Søndergaard",  "Dubois",
    "Rossi",  "Ivanov",   "Sato",   "Kim",      "Li",           "王",
    "김",     "Schmidt",  "Jensen", "Hansen",   "Larsen",       "Brown",
    "Silva",  "Costa",    "Novak",  "Horvat",   "Papadopoulos", "Yılmaz",
    "O'Neil", "d'Arcy"};
constexpr std::array<const char*, 6> kTitles = {
    "Engineer", "Designer", "Sales lead", "Support", "CFO", "Product manager"};
constexpr std::array<const char*, 4> kTimezones = {
    "Europe/Copenhagen", "America/New_York", "Asia/Tokyo", "UTC"};

absl::Time RandomTime(Rng& rng, absl::Time from, absl::Duration span) {
  return from + absl::Seconds(static_cast<int64_t>(rng.Below(
                    static_cast<uint64_t>(absl::ToInt64Seconds(span)))));
}

}  // namespace

const SimUser* Directory::FindUser(int64_t user_id) const {
  auto it = user_index.find(user_id);
  return it == user_index.end() ? nullptr : &users[it->second];
}

SimOrg* Directory::FindOrg(int64_t org_id) {
  auto it = orgs.find(org_id);
  return it == orgs.end() ? nullptr : &it->second;
}

const SimOrg* Directory::FindOrg(int64_t org_id) const {
  auto it = orgs.find(org_id);
  return it == orgs.end() ? nullptr : &it->second;
}

SimSpace* Directory::FindSpace(int64_t space_id) {
  auto it = spaces.find(space_id);
  return it == spaces.end() ? nullptr : &it->second;
}

const SimSpace* Directory::FindSpace(int64_t space_id) const {
  auto it = spaces.find(space_id);
  return it == spaces.end() ? nullptr : &it->second;
}

bool Directory::IsOrgMember(int64_t org_id, int64_t user_id) const {
  const SimOrg* org = FindOrg(org_id);
  if (org == nullptr) return false;
  auto it = org->members.find(user_id);
  return it != org->members.end() && !it->second.invited;
}

bool Directory::IsOrgAdmin(int64_t org_id, int64_t user_id) const {
  const SimOrg* org = FindOrg(org_id);
  if (org == nullptr) return false;
  auto it = org->members.find(user_id);
  return it != org->members.end() && !it->second.invited &&
         it->second.role == "admin";
}

const SpaceMembership* Directory::ActiveSpaceMembership(int64_t space_id,
                                                        int64_t user_id) const {
  const SimSpace* space = FindSpace(space_id);
  if (space == nullptr) return nullptr;
  auto it = space->members.find(user_id);
  if (it == space->members.end() || it->second.ended_on.has_value()) {
    return nullptr;
  }
  return &it->second;
}

int Directory::SpaceMembershipsInOrg(int64_t org_id, int64_t user_id) const {
  const SimOrg* org = FindOrg(org_id);
  if (org == nullptr) return 0;
  int count = 0;
  for (int64_t space_id : org->space_ids) {
    if (ActiveSpaceMembership(space_id, user_id) != nullptr) ++count;
  }
  return count;
}

bool Directory::ShareAnOrg(int64_t a, int64_t b) const {
  for (const auto& [org_id, org] : orgs) {
    if (IsOrgMember(org_id, a) && IsOrgMember(org_id, b)) return true;
  }
  return false;
}

void Directory::SortByName(std::vector<int64_t>& ids) const {
  std::sort(ids.begin(), ids.end(), [this](int64_t a, int64_t b) {
    const SimUser* ua = FindUser(a);
    const SimUser* ub = FindUser(b);
    return std::tie(ua->name, a) < std::tie(ub->name, b);
  });
}

void Directory::InsertSorted(std::vector<int64_t>& ids, int64_t user_id) const {
  const SimUser* user = FindUser(user_id);
  auto it = std::lower_bound(
      ids.begin(), ids.end(), user_id, [this, user](int64_t a, int64_t b) {
        const SimUser* ua = FindUser(a);
        return std::tie(ua->name, a) < std::tie(user->name, b);
      });
  if (it == ids.end() || *it != user_id) ids.insert(it, user_id);
}

namespace {

constexpr absl::Duration kTenYears = absl::Hours(24 * 365 * 10);

void GenerateUsers(Rng& rng, const GeneratorOptions& options, int user_count,
                   int orgs, Directory& d) {
  d.users.reserve(user_count);
  for (int i = 0; i < user_count; ++i) {
    SimUser user;
    user.user_id = kFirstUserId + i;
    user.profile_id = kFirstProfileId + i;
    if (i == kAdminUserIndex) {
      user.name = "Demo Admin";
      user.mail = "demo@example.com";
    } else if (i == kRegularUserIndex) {
      user.name = "Regular Rita";
      user.mail = "regular@example.com";
    } else {
      user.name = absl::StrCat(kFirstNames[rng.Below(kFirstNames.size())], " ",
                               kLastNames[rng.Below(kLastNames.size())]);
      user.mail =
          absl::StrCat("user", i, "@org", (i % orgs) + 1, ".example.com");
    }
    user.title = kTitles[rng.Below(kTitles.size())];
    user.timezone = kTimezones[rng.Below(kTimezones.size())];
    user.phone = absl::StrCat("+45 ", 10000000 + rng.Below(89999999));
    user.avatar = rng.Chance(0.7) ? 300000000 + i : 0;
    user.created_on = RandomTime(rng, options.epoch, kTenYears / 2);
    user.last_seen_on = RandomTime(rng, user.created_on, kTenYears / 2);
    d.user_index[user.user_id] = d.users.size();
    d.user_by_mail[user.mail] = user.user_id;
    d.users.push_back(std::move(user));
  }
}

void GenerateOrgs(Rng& rng, const GeneratorOptions& options, int orgs,
                  int spaces_per_org, int64_t admin_id, Directory& d) {
  for (int o = 0; o < orgs; ++o) {
    SimOrg org;
    org.org_id = kFirstOrgId + o;
    org.name =
        absl::StrCat("Organization ", o + 1, o % 2 == 0 ? "" : " — Ærø branch");
    org.url_label = absl::StrCat("org-", o + 1);
    org.type = o % 3 == 2 ? "free" : "premium";
    org.domains = {absl::StrCat("org", o + 1, ".example.com")};
    org.created_by = admin_id;
    org.created_on = RandomTime(rng, options.epoch, absl::Hours(24 * 30));
    org.logo = rng.Chance(0.5) ? 200000000 + o : 0;
    for (int s = 0; s < spaces_per_org; ++s) {
      SimSpace space;
      space.space_id = kFirstSpaceId + o * spaces_per_org + s;
      space.org_id = org.org_id;
      space.name = s == 0 ? "Employee network"
                          : absl::StrCat("Workspace ", o + 1, ".", s);
      space.url_label = absl::StrCat("workspace-", s);
      space.description = s % 2 == 0 ? "" : "Projects and plans";
      space.privacy = s % 2 == 0 ? "open" : "closed";
      space.archived = s > 0 && s % 5 == 4;
      space.created_by = admin_id;
      space.created_on = RandomTime(rng, org.created_on, absl::Hours(24 * 300));
      org.space_ids.push_back(space.space_id);
      d.spaces[space.space_id] = std::move(space);
    }
    d.orgs[org.org_id] = std::move(org);
  }
}

void JoinSpace(Rng& rng, const GeneratorOptions& options, SimSpace& space,
               int64_t user_id, const std::string& role, bool may_end) {
  SpaceMembership m;
  m.user_id = user_id;
  m.role = role;
  m.invited_on = RandomTime(rng, space.created_on, kTenYears / 2);
  m.started_on = m.invited_on + absl::Seconds(rng.Below(86400));
  if (may_end && rng.Chance(options.ended_share)) {
    m.ended_on = m.started_on + absl::Hours(1 + rng.Below(24 * 300));
  }
  space.members[user_id] = m;
}

void JoinOrg(SimOrg& org, int64_t user_id, const std::string& role,
             bool employee, bool invited) {
  OrgMembership m;
  m.user_id = user_id;
  m.role = role;
  m.employee = employee;
  m.invited = invited;
  org.members[user_id] = m;
}

// The admin everywhere, the regular principal in the first organization,
// and every other user in one organization (or two) and some of its spaces.
void JoinMembers(Rng& rng, const GeneratorOptions& options, int user_count,
                 int orgs, int64_t admin_id, int64_t regular_id, Directory& d) {
  for (auto& [org_id, org] : d.orgs) {
    JoinOrg(org, admin_id, "admin", true, false);
    for (int64_t space_id : org.space_ids) {
      JoinSpace(rng, options, d.spaces[space_id], admin_id, "admin", false);
    }
  }
  {
    SimOrg& first = d.orgs.begin()->second;
    JoinOrg(first, regular_id, "regular", true, false);
    JoinSpace(rng, options, d.spaces[first.space_ids[0]], regular_id, "regular",
              false);
  }

  std::vector<int64_t> org_ids;
  for (const auto& entry : d.orgs) org_ids.push_back(entry.first);
  for (int i = 2; i < user_count; ++i) {
    SimUser& user = d.users[i];
    std::vector<std::pair<int64_t, bool>> memberships = {
        {org_ids[i % orgs], true}};
    if (orgs > 1 && rng.Chance(options.multi_org_share)) {
      int64_t other = org_ids[(i % orgs + 1 + rng.Below(orgs - 1)) % orgs];
      memberships.push_back({other, false});  // External in a second org.
    }
    bool any_active = false;
    for (const auto& [org_id, employee] : memberships) {
      SimOrg& org = d.orgs[org_id];
      const bool invited = rng.Chance(options.invited_share);
      const std::string role = rng.Chance(0.02) ? "admin" : "regular";
      JoinOrg(org, user.user_id, role, employee, invited);
      if (invited) continue;
      any_active = true;
      const int joins = static_cast<int>(
          rng.Below(static_cast<uint64_t>(options.max_spaces_per_member) + 1));
      for (int j = 0; j < joins; ++j) {
        SimSpace& space =
            d.spaces[org.space_ids[rng.Below(org.space_ids.size())]];
        if (space.members.count(user.user_id)) continue;
        const uint64_t roll = rng.Below(100);
        JoinSpace(rng, options, space, user.user_id,
                  roll < 5    ? "admin"
                  : roll < 20 ? "light"
                              : "regular",
                  true);
      }
    }
    if (!any_active) user.status = "inactive";
  }
}

void SortViews(Directory& d) {
  for (const SimUser& user : d.users) d.users_by_name.push_back(user.user_id);
  d.SortByName(d.users_by_name);
  for (auto& [org_id, org] : d.orgs) {
    for (const auto& entry : org.members)
      org.member_order.push_back(entry.first);
    d.SortByName(org.member_order);
  }
  for (auto& [space_id, space] : d.spaces) {
    for (const auto& [user_id, m] : space.members) {
      if (!m.ended_on) space.member_order.push_back(user_id);
    }
    d.SortByName(space.member_order);
  }
}

}  // namespace

Directory GenerateDirectory(const GeneratorOptions& options) {
  Rng rng(options.seed);
  Directory d;
  const int orgs = std::max(1, options.orgs);
  const int spaces_per_org = std::max(1, options.spaces_per_org);
  const int user_count = std::max(2, options.users);
  GenerateUsers(rng, options, user_count, orgs, d);
  const int64_t admin_id = d.users[kAdminUserIndex].user_id;
  const int64_t regular_id = d.users[kRegularUserIndex].user_id;
  GenerateOrgs(rng, options, orgs, spaces_per_org, admin_id, d);
  JoinMembers(rng, options, user_count, orgs, admin_id, regular_id, d);
  SortViews(d);
  return d;
}

}  // namespace unified::podio_sim
