#include "tools/bench/change_delay.h"

#include <set>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"

namespace unified::bench {
namespace {

// The first workspace of `user_id`'s organizations it is an active member
// of, and an active organization member outside it (neither `user_id` nor
// one of `taken`); false when it has none.
bool ChooseSpace(const podio_sim::Directory& d, int64_t user_id,
                 const std::set<int64_t>& taken, ChangeSample* sample) {
  for (const auto& [org_id, org] : d.orgs) {
    if (!d.IsOrgMember(org_id, user_id)) continue;
    for (int64_t space_id : org.space_ids) {
      if (d.ActiveSpaceMembership(space_id, user_id) == nullptr) continue;
      for (int64_t other : org.member_order) {
        if (other == user_id || taken.count(other) > 0 ||
            !d.IsOrgMember(org_id, other) ||
            d.ActiveSpaceMembership(space_id, other) != nullptr) {
          continue;
        }
        sample->space_id = space_id;
        sample->newcomer = other;
        return true;
      }
    }
  }
  return false;
}

absl::Status Write(HttpClient& http, const std::string& url,
                   const std::string& method, const std::string& token,
                   const std::string& body, int expected) {
  HttpRequest request;
  request.method = method;
  request.url = url;
  request.headers = {{"Authorization", "OAuth2 " + token},
                     {"Content-Type", "application/json"}};
  request.body = body;
  absl::StatusOr<HttpResponse> response = http.Send(request);
  if (!response.ok()) return response.status();
  if (response->status != expected) {
    return absl::InternalError(absl::StrCat(method, " ", url, " answered ",
                                            response->status, ": ",
                                            response->body));
  }
  return absl::OkStatus();
}

// Watches `sample`'s account from a snapshot, makes its change, and waits
// for the change's MEMBER_ADDED until `deadline`.
ChangeDelay MeasureOne(const ChangeSample& sample,
                       const std::shared_ptr<grpc::Channel>& channel,
                       HttpClient& http, const std::string& sim_url,
                       const std::string& admin_token, absl::Time deadline) {
  ChangeDelay result;
  result.hooked = sample.hooked;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  v1::WatchDirectoryRequest request;
  request.set_integrated_account_id(sample.account);
  request.set_include_snapshot(true);
  auto reader =
      v1::UserDirectory::NewStub(channel)->WatchDirectory(&context, request);
  v1::DirectoryEvent event;
  while (reader->Read(&event) &&
         event.type() != v1::DirectoryEvent::SNAPSHOT_COMPLETE) {
  }
  const absl::Time sent = absl::Now();
  result.delay = deadline - sent;
  if (event.type() != v1::DirectoryEvent::SNAPSHOT_COMPLETE ||
      !Write(http,
             absl::StrCat(sim_url, "/space/", sample.space_id, "/member/"),
             "POST", admin_token,
             absl::StrCat(R"({"users":[)", sample.newcomer,
                          R"(],"role":"regular"})"),
             200)
           .ok()) {
    context.TryCancel();
    (void)reader->Finish();
    return result;
  }
  const std::string space = absl::StrCat(sample.space_id);
  const std::string newcomer = absl::StrCat(sample.newcomer);
  while (reader->Read(&event)) {
    if (event.type() == v1::DirectoryEvent::MEMBER_ADDED &&
        event.workspace().id() == space && event.user().id() == newcomer) {
      result.delay = absl::Now() - sent;
      result.arrived = true;
      result.source = event.source();
      break;
    }
  }
  context.TryCancel();
  (void)reader->Finish();
  return result;
}

}  // namespace

absl::StatusOr<std::vector<ChangeSample>> PrepareChangeSamples(
    podio_sim::Simulator& sim, HttpClient& http, const std::string& admin_token,
    const std::vector<std::string>& candidates, int hooked, int polled) {
  std::vector<ChangeSample> samples;
  sim.ReadDirectory([&](const podio_sim::Directory& d) {
    std::set<int64_t> taken;  // Samples and newcomers: one change each.
    for (size_t c = 0; c < candidates.size(); ++c) {
      if (static_cast<int>(samples.size()) == hooked + polled) break;
      const std::string& mail = candidates[c];
      const auto it = d.user_by_mail.find(mail);
      if (it == d.user_by_mail.end() || taken.count(it->second) > 0) continue;
      ChangeSample sample;
      sample.mail = mail;
      sample.candidate = static_cast<int>(c);
      sample.hooked = static_cast<int>(samples.size()) < hooked;
      sample.user_id = it->second;
      if (!ChooseSpace(d, sample.user_id, taken, &sample)) continue;
      taken.insert(sample.user_id);
      taken.insert(sample.newcomer);
      samples.push_back(sample);
    }
  });
  if (static_cast<int>(samples.size()) < hooked + polled) {
    return absl::NotFoundError(
        "too few candidates are members of a workspace to change");
  }
  for (const ChangeSample& sample : samples) {
    if (!sample.hooked) continue;
    absl::Status promoted =
        Write(http,
              absl::StrCat(sim.base_url(), "/space/", sample.space_id,
                           "/member/", sample.user_id),
              "PUT", admin_token, R"({"role":"admin"})", 204);
    if (!promoted.ok()) return promoted;
  }
  return samples;
}

std::vector<ChangeDelay> MeasureChangeDelays(
    const std::vector<ChangeSample>& samples,
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    HttpClient& http, const std::string& sim_url,
    const std::string& admin_token, absl::Duration wait) {
  std::vector<ChangeDelay> delays(samples.size());
  std::vector<std::thread> threads;
  const absl::Time deadline = absl::Now() + wait;
  for (size_t i = 0; i < samples.size(); ++i) {
    threads.emplace_back([&, i] {
      delays[i] = MeasureOne(samples[i], channels[i], http, sim_url,
                             admin_token, deadline);
    });
  }
  for (std::thread& t : threads) t.join();
  return delays;
}

}  // namespace unified::bench
