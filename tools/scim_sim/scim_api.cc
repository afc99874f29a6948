// The SCIM simulator's API routes (RFC 7644 §3): the service provider
// configuration, listing Users and Groups (filtered, paged by index or by
// cursor), reading one, deleting a user and patching a group's members.
// One handler per route, found in one table (ScimSimulator::Api::Serve).
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "rapidjson/document.h"
#include "tools/scim_sim/scim_json.h"
#include "tools/scim_sim/scim_sim.h"

namespace unified::scim_sim {

class ScimSimulator::Api {
 public:
  Api(ScimSimulator* sim, const httplib::Request& req, httplib::Response& res)
      : sim_(sim), req_(req), res_(res), base_(sim->base_url()) {}

  // `path` is below the API's prefix, e.g. "/Users/u-000001".
  void Serve(const std::string& path) {
    using Handler = void (Api::*)(const std::string& id);
    struct Route {
      const char* pattern;  // "{id}": one non-empty segment.
      Handler handler;
    };
    static const Route kRoutes[] = {
        {"/ServiceProviderConfig", &Api::ServiceProviderConfig},
        {"/Users", &Api::ListUsers},
        {"/Users/{id}", &Api::User},
        {"/Groups", &Api::ListGroups},
        {"/Groups/{id}", &Api::Group},
    };
    const std::vector<std::string> parts = absl::StrSplit(path, '/');
    for (const Route& route : kRoutes) {
      const std::vector<std::string> want = absl::StrSplit(route.pattern, '/');
      if (want.size() != parts.size()) continue;
      std::string id;
      bool match = true;
      for (size_t i = 0; i < want.size() && match; ++i) {
        if (want[i] == "{id}") {
          id = parts[i];
          match = !id.empty();
        } else {
          match = want[i] == parts[i];
        }
      }
      if (match) return (this->*route.handler)(id);
    }
    Error(res_, 404, "no such endpoint");
  }

 private:
  // What a listing asks for.
  struct Paging {
    std::vector<Condition> filter;
    int64_t start_index = 1;  // As served (1 when the start is ignored).
    int64_t asked_start = 1;  // As asked.
    int64_t count = 0;
  };

  void Reply(const rapidjson::StringBuffer& buffer) {
    res_.status = 200;
    res_.set_content(buffer.GetString(), kScimJson);
  }

  void ServiceProviderConfig(const std::string&) {
    if (req_.method != "GET") return Error(res_, 404, "no such endpoint");
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    WriteServiceProviderConfig(w, sim_->options_, base_);
    Reply(buffer);
  }

  void ListUsers(const std::string&) { List("Users"); }
  void ListGroups(const std::string&) { List("Groups"); }
  void List(const std::string& collection);
  // Reads the listing's parameters; false when it answered an error.
  bool ReadPaging(Paging* p);
  // The resources `filter` selects, in id order; false when it answered an
  // error (an attribute not served).
  bool SelectUsers(const std::vector<Condition>& filter,
                   std::vector<const SimUser*>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sim_->mu_);
  bool SelectGroups(const std::vector<Condition>& filter,
                    std::vector<const SimGroup*>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sim_->mu_);
  void User(const std::string& id);
  void Group(const std::string& id);
  // RFC 7644 §3.5.2: add members, or remove one by members[value eq "x"].
  void PatchGroup(SimGroup& group) ABSL_EXCLUSIVE_LOCKS_REQUIRED(sim_->mu_);

  ScimSimulator* const sim_;
  const httplib::Request& req_;
  httplib::Response& res_;
  const std::string base_;
};

bool ScimSimulator::Api::ReadPaging(Paging* p) {
  const ScimSimOptions& options = sim_->options_;
  if (req_.has_param("filter") &&
      !ParseFilter(req_.get_param_value("filter"), &p->filter)) {
    Error(res_, 400, "the filter is not supported", "invalidFilter");
    return false;
  }
  for (const Condition& c : p->filter) {
    if (options.no_groups_attribute && c.attribute == "groups.value") {
      Error(res_, 400, "no such attribute: groups", "invalidFilter");
      return false;
    }
  }
  // Some providers accept a filter and answer as if none was given
  // (docs/scim.md).
  if (options.ignore_filter) p->filter.clear();
  p->count = options.max_results;
  if (req_.has_param("startIndex") &&
      !absl::SimpleAtoi(req_.get_param_value("startIndex"), &p->start_index)) {
    Error(res_, 400, "startIndex is not a number", "invalidValue");
    return false;
  }
  if (req_.has_param("count") &&
      !absl::SimpleAtoi(req_.get_param_value("count"), &p->count)) {
    Error(res_, 400, "count is not a number", "invalidValue");
    return false;
  }
  p->start_index = std::max<int64_t>(1, p->start_index);  // RFC 7644 §3.4.2.4
  // Some providers ignore startIndex (docs/scim.md): every page is the
  // first, said to start where asked when `echo` (the worst case).
  p->asked_start = p->start_index;
  if (options.ignore_start_index) p->start_index = 1;
  p->count = std::clamp<int64_t>(p->count, 0, options.max_results);
  return true;
}

bool ScimSimulator::Api::SelectUsers(const std::vector<Condition>& filter,
                                     std::vector<const SimUser*>* out) {
  auto in_group = [&](const std::string& uid, const std::string& gid) {
    auto g = sim_->groups_.find(gid);
    return g != sim_->groups_.end() &&
           std::find(g->second.members.begin(), g->second.members.end(), uid) !=
               g->second.members.end();
  };
  for (const auto& [uid, u] : sim_->users_) {
    bool match = true;
    for (const Condition& c : filter) {
      if (c.attribute == "username" || c.attribute == "emails.value" ||
          c.attribute == "emails") {
        match &= absl::EqualsIgnoreCase(
            c.attribute == "username" ? u.user_name : u.email, c.value);
      } else if (c.attribute == "groups.value") {
        match &= in_group(uid, c.value);
      } else if (c.attribute == "active" && !c.quoted) {
        match &= u.active == (c.value == "true");
      } else if (c.attribute == "id") {
        match &= uid == c.value;
      } else {
        Error(res_, 400, "the filter is not supported", "invalidFilter");
        return false;
      }
    }
    if (match) out->push_back(&u);
  }
  return true;
}

bool ScimSimulator::Api::SelectGroups(const std::vector<Condition>& filter,
                                      std::vector<const SimGroup*>* out) {
  for (const auto& [gid, g] : sim_->groups_) {
    bool match = true;
    for (const Condition& c : filter) {
      if (c.attribute == "displayname") {
        match &= g.display_name == c.value;
      } else if (c.attribute == "id") {
        match &= gid == c.value;
      } else {
        Error(res_, 400, "the filter is not supported", "invalidFilter");
        return false;
      }
    }
    if (match) out->push_back(&g);
  }
  return true;
}

void ScimSimulator::Api::List(const std::string& collection) {
  if (req_.method != "GET") {
    return Error(res_, 501, "creating resources is not served");
  }
  Paging p;
  if (!ReadPaging(&p)) return;
  absl::MutexLock lock(&sim_->mu_);
  const bool users = collection == "Users";
  std::vector<const SimUser*> user_rows;
  std::vector<const SimGroup*> group_rows;
  if (users ? !SelectUsers(p.filter, &user_rows)
            : !SelectGroups(p.filter, &group_rows)) {
    return;
  }
  auto id_at = [&](int64_t i) -> const std::string& {
    return users ? user_rows[i]->id : group_rows[i]->id;
  };
  const int64_t total = users ? user_rows.size() : group_rows.size();
  int64_t first = std::min(total, p.start_index - 1);
  // RFC 9865: a cursor (empty for the first page) names the last resource
  // of the page before; the page goes on after it, in id order, however
  // the collection changed since.
  const bool by_cursor =
      sim_->options_.cursor_paging && req_.has_param("cursor");
  if (by_cursor) {
    std::string after;
    if (!absl::WebSafeBase64Unescape(req_.get_param_value("cursor"), &after)) {
      return Error(res_, 400, "not a cursor of ours", "invalidCursor");
    }
    first = 0;
    while (!after.empty() && first < total && id_at(first) <= after) ++first;
    ++sim_->cursor_requests_;
  }
  const int64_t last = std::min(total, first + p.count);
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("schemas");
  w.StartArray();
  w.String(kListSchema);
  w.EndArray();
  w.Key("totalResults");
  w.Int64(total);
  if (by_cursor) {
    if (last < total && last > first) {
      w.Key("nextCursor");
      w.String(absl::WebSafeBase64Escape(id_at(last - 1)));
    }
  } else {
    w.Key("startIndex");
    w.Int64(sim_->options_.ignore_start_index ? p.asked_start : p.start_index);
  }
  w.Key("itemsPerPage");
  w.Int64(last - first);
  w.Key("Resources");
  w.StartArray();
  const bool with_members =
      !absl::StrContains(req_.get_param_value("excludedAttributes"), "members");
  for (int64_t i = first; i < last; ++i) {
    if (users) {
      WriteUser(w, *user_rows[i], sim_->groups_,
                !sim_->options_.no_groups_attribute, base_);
    } else {
      WriteGroup(w, *group_rows[i], sim_->users_, with_members, base_);
    }
  }
  w.EndArray();
  w.EndObject();
  Reply(buffer);
}

void ScimSimulator::Api::User(const std::string& id) {
  absl::MutexLock lock(&sim_->mu_);
  auto it = sim_->users_.find(id);
  if (it == sim_->users_.end()) {
    return Error(res_, 404, absl::StrCat("Resource ", id, " not found"));
  }
  if (req_.method == "DELETE") {
    sim_->users_.erase(it);
    for (auto& [gid, g] : sim_->groups_) {
      auto m = std::find(g.members.begin(), g.members.end(), id);
      if (m != g.members.end()) {
        g.members.erase(m);
        g.modified = absl::Now();
      }
    }
    res_.status = 204;
    return;
  }
  if (req_.method != "GET") return Error(res_, 501, "not served");
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  WriteUser(w, it->second, sim_->groups_, !sim_->options_.no_groups_attribute,
            base_);
  Reply(buffer);
}

void ScimSimulator::Api::Group(const std::string& id) {
  absl::MutexLock lock(&sim_->mu_);
  auto it = sim_->groups_.find(id);
  if (it == sim_->groups_.end()) {
    return Error(res_, 404, absl::StrCat("Resource ", id, " not found"));
  }
  if (req_.method == "PATCH") return PatchGroup(it->second);
  if (req_.method != "GET") return Error(res_, 501, "not served");
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  WriteGroup(
      w, it->second, sim_->users_,
      !absl::StrContains(req_.get_param_value("excludedAttributes"), "members"),
      base_);
  Reply(buffer);
}

void ScimSimulator::Api::PatchGroup(SimGroup& group) {
  rapidjson::Document doc;
  doc.Parse(req_.body.c_str(), req_.body.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("Operations") ||
      !doc["Operations"].IsArray()) {
    return Error(res_, 400, "not a PatchOp", "invalidSyntax");
  }
  SimGroup next = group;
  for (const auto& op : doc["Operations"].GetArray()) {
    if (!op.IsObject() || !op.HasMember("op") || !op["op"].IsString()) {
      return Error(res_, 400, "an operation without op", "invalidSyntax");
    }
    const std::string kind = absl::AsciiStrToLower(op["op"].GetString());
    const std::string op_path = op.HasMember("path") && op["path"].IsString()
                                    ? op["path"].GetString()
                                    : "";
    if (kind == "add" && op_path == "members" && op.HasMember("value") &&
        op["value"].IsArray()) {
      for (const auto& m : op["value"].GetArray()) {
        if (!m.IsObject() || !m.HasMember("value") || !m["value"].IsString() ||
            !sim_->users_.count(m["value"].GetString())) {
          return Error(res_, 400, "no such member", "invalidValue");
        }
        const std::string uid = m["value"].GetString();
        if (std::find(next.members.begin(), next.members.end(), uid) ==
            next.members.end()) {
          next.members.push_back(uid);
        }
      }
    } else if (kind == "remove" &&
               absl::StartsWith(op_path, "members[value eq \"") &&
               absl::EndsWith(op_path, "\"]")) {
      const std::string uid = op_path.substr(18, op_path.size() - 20);
      auto m = std::find(next.members.begin(), next.members.end(), uid);
      if (m != next.members.end()) next.members.erase(m);
    } else {
      return Error(res_, 400, "only member add and remove are served",
                   "invalidPath");
    }
  }
  next.modified = absl::Now();
  group = std::move(next);
  res_.status = 204;
}

void ScimSimulator::HandleApi(const httplib::Request& req,
                              httplib::Response& res, const std::string& path) {
  Api(this, req, res).Serve(path);
}

}  // namespace unified::scim_sim
