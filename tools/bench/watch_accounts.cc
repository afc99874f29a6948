#include "tools/bench/watch_accounts.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "tools/testing/api_key_channel.h"

namespace unified::bench {

std::string SimUserMail(int user, int orgs) {
  return absl::StrCat("user", user, "@org", user % orgs + 1, ".example.com");
}

void Parallel(int n, int threads, const std::function<void(int)>& job) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) job(i);
    });
  }
  for (std::thread& t : pool) t.join();
}

std::string Link(const std::string& address, const std::string& api_key,
                 const std::string& mail, const std::string& password) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Minutes(2)));
  v1::LinkWithPasswordRequest link;
  link.set_username(mail);
  link.set_password(password);
  v1::IntegratedAccount account;
  if (!v1::IntegratedAccounts::NewStub(testing::ApiKeyChannel(address, api_key))
           ->LinkWithPassword(&context, link, &account)
           .ok()) {
    return "";
  }
  return account.id();
}

std::string LinkAndWatch(const std::string& address, const std::string& api_key,
                         const std::string& mail, const std::string& password) {
  const std::string id = Link(address, api_key, mail, password);
  if (id.empty()) return "";
  auto channel = testing::ApiKeyChannel(address, api_key);
  grpc::ClientContext watch_context;
  watch_context.set_deadline(
      absl::ToChronoTime(absl::Now() + absl::Minutes(5)));
  v1::WatchDirectoryRequest watch;
  watch.set_integrated_account_id(id);
  watch.set_include_snapshot(true);
  auto reader = v1::UserDirectory::NewStub(channel)->WatchDirectory(
      &watch_context, watch);
  v1::DirectoryEvent event;
  while (reader->Read(&event)) {
    if (event.type() == v1::DirectoryEvent::SNAPSHOT_COMPLETE) break;
  }
  watch_context.TryCancel();
  (void)reader->Finish();
  return event.type() == v1::DirectoryEvent::SNAPSHOT_COMPLETE ? id : "";
}

double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return -1;
  return sorted[std::min(sorted.size() - 1,
                         static_cast<size_t>(q * sorted.size()))];
}

}  // namespace unified::bench
