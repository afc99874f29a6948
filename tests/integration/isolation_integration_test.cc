// Many tenants on bounded threads, end to end on the real binaries: one API
// key's idle streams do not starve another's calls and the server's threads
// stay within the documented bound (docs/serving.md); a thousand watch
// streams across ten keys all see their events; trickling sockets do not
// starve the HTTP side listener; an abandoned refresh does not block its
// account; a stalled stream ends and resumes exactly where it was.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "proto/unified/v1/proxy.grpc.pb.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "rapidjson/document.h"
#include "tests/integration/directory_env.h"
#include "tests/testing/rich_error.h"
#include "tools/podio_sim/sim_client.h"

namespace unified::testing {
namespace {

constexpr absl::Duration kWait = absl::Seconds(60);

// How calls of one kind ended, for waiting on many at once.
class Outcomes {
 public:
  void Add(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    statuses_.push_back(status);
  }
  // Waits until `n` calls ended with `code` (or kWait passed); the
  // statuses of every call that ended.
  std::vector<grpc::Status> WaitFor(size_t n, grpc::StatusCode code) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      size_t with_code = 0;
      for (const grpc::Status& s : statuses_)
        with_code += s.error_code() == code;
      return with_code >= n;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), kWait);
    return statuses_;
  }
  size_t size() {
    absl::MutexLock lock(&mu_);
    return statuses_.size();
  }

 private:
  absl::Mutex mu_;
  std::vector<grpc::Status> statuses_ ABSL_GUARDED_BY(mu_);
};

// A server-streaming call on the callback client API that never reads: it
// only learns how the call ended. Holds no client thread.
template <typename Request, typename Response>
class Unread final : public grpc::ClientReadReactor<Response> {
 public:
  // `started` (may be null) counts calls whose server began answering.
  Unread(Request request, Outcomes* outcomes, Outcomes* started = nullptr)
      : request_(std::move(request)), outcomes_(outcomes), started_(started) {}
  void OnReadInitialMetadataDone(bool ok) override {
    if (ok && started_ != nullptr) started_->Add(grpc::Status::OK);
  }
  grpc::ClientContext* context() { return &context_; }
  const Request* request() const { return &request_; }
  void OnDone(const grpc::Status& status) override {
    outcomes_->Add(status);
    absl::MutexLock lock(&mu_);
    done_ = true;
  }
  bool done() {
    absl::MutexLock lock(&mu_);
    return done_;
  }
  // Cancels the call and waits until it is over.
  void Cancel() {
    context_.TryCancel();
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
  }

 private:
  grpc::ClientContext context_;
  const Request request_;
  Outcomes* const outcomes_;
  Outcomes* const started_;
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

// A WatchDirectory stream that reads every event (callback client API).
class EventReader final : public grpc::ClientReadReactor<v1::DirectoryEvent> {
 public:
  explicit EventReader(v1::WatchDirectoryRequest request)
      : request_(std::move(request)) {}
  void Start(v1::UserDirectory::Stub* stub) {
    stub->async()->WatchDirectory(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    {
      absl::MutexLock lock(&mu_);
      events_.push_back(event_);
    }
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    status_ = status;
    done_ = true;
  }
  // Waits until an event satisfying `match` arrived (or kWait passed).
  bool WaitForEvent(
      const std::function<bool(const v1::DirectoryEvent&)>& match) {
    absl::MutexLock lock(&mu_);
    auto seen = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      if (done_) return true;
      for (const auto& e : events_) {
        if (match(e)) return true;
      }
      return false;
    };
    mu_.AwaitWithTimeout(absl::Condition(&seen), kWait);
    for (const auto& e : events_) {
      if (match(e)) return true;
    }
    return false;
  }
  void Cancel() {
    context_.TryCancel();
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&done_), kWait);
  }
  grpc::Status status() {
    absl::MutexLock lock(&mu_);
    return status_;
  }

 private:
  grpc::ClientContext context_;
  const v1::WatchDirectoryRequest request_;
  v1::DirectoryEvent event_;
  absl::Mutex mu_;
  std::vector<v1::DirectoryEvent> events_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

// Channels of their own (one connection each), so that a test can open
// more streams than one connection's limit of concurrent streams.
// `small_windows`: each stream's flow-control window stays at 64 KiB, so a
// stream that is not read soon holds the server's writes back.
std::vector<std::shared_ptr<grpc::Channel>> SeparateChannels(
    const std::string& address, const std::string& key, int n,
    bool small_windows = false) {
  std::vector<std::shared_ptr<grpc::Channel>> out;
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    if (small_windows) {
      args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
      args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 * 1024);
    }
    args.SetInt("unified.test.channel", i);
    out.push_back(ApiKeyChannel(address, key, args));
  }
  return out;
}

// The server process's thread count, from /proc.
int ThreadsOf(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    int n = 0;
    if (absl::StartsWith(line, "Threads:") &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(8)), &n)) {
      return n;
    }
  }
  return -1;
}

// The documented bound (docs/serving.md): --workers + --refresh_threads +
// --watch_poll_concurrency + --watch_hook_concurrency (4) + the HTTP event
// loops + 9 of the service's own + gRPC's internal threads (4 per core +
// 6).
int ThreadBound(int workers, int refresh_threads, int http_threads,
                int poll_threads) {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  const int hook_threads = poll_threads > 0 ? 4 : 0;
  return workers + refresh_threads + poll_threads + hook_threads +
         http_threads + 9 + 4 * cores + 6;
}

DirectoryEnvOptions Options(std::vector<std::string> server_flags,
                            int users = 60) {
  DirectoryEnvOptions options;
  // Budgets are not what these tests are about.
  options.extra_sim_flags = {"--rate_limit=1000000"};
  options.data.users = users;
  options.data.orgs = 1;
  options.data.spaces_per_org = 2;
  options.extra_server_flags = std::move(server_flags);
  return options;
}

TEST(IsolationTest, OneKeysIdleStreamsDoNotStarveAnotherKey) {
  DirectoryEnv env(
      Options({"--stream_stall_timeout=10m", "--watch_heartbeat=10m",
               "--workers=8", "--tenant_max_streams=64"},
              /*users=*/2000));
  ASSERT_FALSE(env.account("demo").empty());
  const std::string b_account = env.LinkPassword(
      "regular@example.com", "regular-password", DirectoryEnv::kTenantB);
  ASSERT_FALSE(b_account.empty());
  const pid_t pid = env.server().process->pid();
  const int idle_threads = ThreadsOf(pid);

  // Tenant A: 500 StreamUsers and 200 WatchDirectory that never read.
  // The listings it may have open come first, on connections of their own:
  // HTTP/2 lets a connection whose streams are not read hold back even the
  // status-only answers of its other calls, so the refusals go elsewhere.
  const std::string a_key = env.files().api_keys.at(DirectoryEnv::kTenantA);
  std::vector<std::unique_ptr<v1::UserDirectory::Stub>> idle, more;
  for (auto& c : SeparateChannels(env.server().address, a_key, 8,
                                  /*small_windows=*/true)) {
    idle.push_back(v1::UserDirectory::NewStub(c));
  }
  for (auto& c : SeparateChannels(env.server().address, a_key, 5)) {
    more.push_back(v1::UserDirectory::NewStub(c));
  }
  Outcomes listings, started, watches;
  using UnreadUsers = Unread<v1::ListUsersRequest, v1::ListUsersResponse>;
  using UnreadWatch = Unread<v1::WatchDirectoryRequest, v1::DirectoryEvent>;
  std::vector<std::unique_ptr<UnreadUsers>> users;
  std::vector<std::unique_ptr<UnreadWatch>> watchers;
  // Every call is over before its reactor goes, whatever the test's end.
  struct CancelAll {
    std::vector<std::unique_ptr<UnreadUsers>>& users;
    std::vector<std::unique_ptr<UnreadWatch>>& watchers;
    ~CancelAll() {
      for (auto& u : users) u->Cancel();
      for (auto& w : watchers) w->Cancel();
    }
  } cancel_all{users, watchers};
  auto list = [&](v1::UserDirectory::Stub* stub) {
    v1::ListUsersRequest request;
    request.set_integrated_account_id(env.account("demo"));
    request.set_limit(1);
    users.push_back(
        std::make_unique<UnreadUsers>(request, &listings, &started));
    stub->async()->StreamUsers(users.back()->context(), users.back()->request(),
                               users.back().get());
    users.back()->StartCall();
  };
  for (int i = 0; i < 64; ++i) list(idle[i % idle.size()].get());
  // All 64 are admitted: the server began sending each its listing.
  started.WaitFor(64, grpc::StatusCode::OK);
  ASSERT_EQ(started.size(), 64u);
  for (int i = 0; i < 436; ++i) list(more[i % more.size()].get());
  for (int i = 0; i < 200; ++i) {
    v1::WatchDirectoryRequest request;
    request.set_integrated_account_id(env.account("demo"));
    request.set_include_snapshot(true);
    watchers.push_back(std::make_unique<UnreadWatch>(request, &watches));
    idle[i % idle.size()]->async()->WatchDirectory(watchers.back()->context(),
                                                   watchers.back()->request(),
                                                   watchers.back().get());
    watchers.back()->StartCall();
  }
  // Beyond tenant A's 64 streams every listing is refused at once, each
  // with the reason and a retry delay; the admitted ones stay open.
  std::vector<grpc::Status> ended =
      listings.WaitFor(436, grpc::StatusCode::RESOURCE_EXHAUSTED);
  ASSERT_EQ(ended.size(), 436u);
  for (const grpc::Status& s : ended) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << s.error_message();
    EXPECT_EQ(ErrorInfoOf(s).reason(), "TENANT_STREAMS_EXHAUSTED");
    EXPECT_EQ(ErrorInfoOf(s).domain(), "unified.v1");
    EXPECT_TRUE(RetryDelayOf(s).has_value());
  }
  for (int i = 0; i < 64; ++i) EXPECT_FALSE(users[i]->done());

  // Tenant B is served as usual meanwhile.
  auto b_channel = env.channel(DirectoryEnv::kTenantB);
  auto b_directory = v1::UserDirectory::NewStub(b_channel);
  auto b_proxy = v1::Proxy::NewStub(b_channel);
  for (int round = 0; round < 3; ++round) {
    grpc::ClientContext c1, c2, c3;
    for (grpc::ClientContext* c : {&c1, &c2, &c3}) {
      c->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    }
    v1::GetMeRequest me;
    me.set_integrated_account_id(b_account);
    v1::User user;
    grpc::Status s = b_directory->GetMe(&c1, me, &user);
    EXPECT_TRUE(s.ok()) << s.error_message();
    v1::ListUsersRequest list;
    list.set_integrated_account_id(b_account);
    list.set_limit(5);
    v1::ListUsersResponse page;
    s = b_directory->ListUsers(&c2, list, &page);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(page.result_size(), 5);
    v1::ProxyRequest call;
    call.set_integrated_account_id(b_account);
    call.set_method("GET");
    call.set_path("/user/status");
    v1::ProxyResponse answer;
    s = b_proxy->Call(&c3, call, &answer);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(answer.status(), 200);
  }

  // No watch stream was refused, and the threads stay within the bound
  // however many streams are open.
  EXPECT_EQ(watches.size(), 0u);
  EXPECT_EQ(listings.size(), 436u);
  const int busy_threads = ThreadsOf(pid);
  EXPECT_LE(busy_threads, ThreadBound(8, 4, 2, 32))
      << "idle " << idle_threads << ", with 264 open streams " << busy_threads;
  std::cout << "server threads: idle " << idle_threads
            << ", with 64 listing and 200 watch streams open " << busy_threads
            << std::endl;
  for (auto& u : users) u->Cancel();
  for (auto& w : watchers) w->Cancel();
}

TEST(IsolationTest, ThousandWatchStreamsAcrossTenKeysAllSeeTheirEvents) {
  std::vector<std::string> extra;
  for (int i = 2; i < 10; ++i) extra.push_back(absl::StrCat("tenant-", i));
  DirectoryEnvOptions options =
      Options({"--hook_base_url=local", "--watch_poll_interval=2s"});
  options.extra_tenants = extra;
  options.link_accounts = false;
  DirectoryEnv env(options);
  std::vector<std::string> tenants = {DirectoryEnv::kTenantA,
                                      DirectoryEnv::kTenantB};
  tenants.insert(tenants.end(), extra.begin(), extra.end());
  std::map<std::string, std::string> account;  // tenant -> account id
  for (const std::string& t : tenants) {
    account[t] = env.LinkPassword("demo@example.com", "demo-password", t);
    ASSERT_FALSE(account[t].empty());
  }

  // 100 streams per key, ten connections per key's streams.
  std::vector<std::unique_ptr<v1::UserDirectory::Stub>> stubs;
  std::vector<std::unique_ptr<EventReader>> readers;
  std::map<EventReader*, std::string> tenant_of;
  for (const std::string& t : tenants) {
    auto channels =
        SeparateChannels(env.server().address, env.files().api_keys.at(t), 2);
    for (auto& c : channels) stubs.push_back(v1::UserDirectory::NewStub(c));
    for (int i = 0; i < 100; ++i) {
      v1::WatchDirectoryRequest request;
      request.set_integrated_account_id(account[t]);
      request.set_include_snapshot(true);
      readers.push_back(std::make_unique<EventReader>(request));
      tenant_of[readers.back().get()] = t;
      readers.back()->Start(stubs[stubs.size() - 1 - i % 2].get());
    }
  }
  ASSERT_EQ(readers.size(), 1000u);
  // Every stream is open: its snapshot is complete.
  for (auto& r : readers) {
    ASSERT_TRUE(r->WaitForEvent([](const v1::DirectoryEvent& e) {
      return e.type() == v1::DirectoryEvent::SNAPSHOT_COMPLETE;
    })) << r->status().error_message();
  }

  // A member joins a workspace every account sees.
  auto directory = v1::UserDirectory::NewStub(env.channel());
  grpc::ClientContext c1;
  v1::ListWorkspacesRequest ws_request;
  ws_request.set_integrated_account_id(account[DirectoryEnv::kTenantA]);
  v1::ListWorkspacesResponse ws;
  ASSERT_TRUE(directory->ListWorkspaces(&c1, ws_request, &ws).ok());
  ASSERT_GE(ws.result_size(), 2);
  const std::string workspace = ws.result(1).id();
  grpc::ClientContext c2;
  v1::ListUsersRequest members_request;
  members_request.set_integrated_account_id(account[DirectoryEnv::kTenantA]);
  members_request.set_workspace_id(workspace);
  members_request.set_limit(500);
  v1::ListUsersResponse members;
  ASSERT_TRUE(directory->ListUsers(&c2, members_request, &members).ok());
  std::set<std::string> inside;
  for (const auto& u : members.result()) inside.insert(u.id());
  grpc::ClientContext c3;
  v1::ListUsersRequest all_request;
  all_request.set_integrated_account_id(account[DirectoryEnv::kTenantA]);
  all_request.set_limit(500);
  v1::ListUsersResponse all;
  ASSERT_TRUE(directory->ListUsers(&c3, all_request, &all).ok());
  std::string joiner;
  for (const auto& u : all.result()) {
    if (!inside.count(u.id())) joiner = u.id();
  }
  ASSERT_FALSE(joiner.empty());
  auto http = NewCurlHttpClient({});
  HttpRequest add;
  add.method = "POST";
  add.url = absl::StrCat(env.sim_url(), "/space/", workspace, "/member/");
  add.headers = {{"Content-Type", "application/json"}};
  add.body = absl::StrCat(R"({"users":[)", joiner, R"(],"role":"regular"})");
  auto token = podio_sim::PasswordGrantToken(*http, env.sim_url());
  ASSERT_TRUE(token.ok()) << token.status();
  add.headers.push_back({"Authorization", "OAuth2 " + *token});
  auto added = http->Send(add);
  ASSERT_TRUE(added.ok());
  ASSERT_EQ(added->status, 200) << added->body;

  // Every one of the thousand streams receives it.
  int received = 0;
  for (auto& r : readers) {
    if (r->WaitForEvent([&](const v1::DirectoryEvent& e) {
          return e.type() == v1::DirectoryEvent::MEMBER_ADDED &&
                 e.source() != v1::DirectoryEvent::SOURCE_SNAPSHOT &&
                 e.user().id() == joiner && e.workspace().id() == workspace;
        })) {
      ++received;
    } else {
      ADD_FAILURE() << "a stream of " << tenant_of[r.get()]
                    << " missed the change: " << r->status().error_message();
    }
  }
  EXPECT_EQ(received, 1000);
  for (auto& r : readers) r->Cancel();
}

// Sockets that open a request and trickle its headers a byte at a time, as
// slow or hostile clients would. They come from 127.0.0.2, .3, ... (50 from
// each), as many clients would: the listener caps what one address holds.
class Tricklers {
 public:
  Tricklers(const std::string& host_port, int n) {
    const size_t colon = host_port.rfind(':');
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(std::stoi(host_port.substr(colon + 1)));
    inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &address.sin_addr);
    for (int i = 0; i < n; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in source{};
      source.sin_family = AF_INET;
      source.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + i / 50);
      if (bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof(source)) != 0 ||
          connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
              0) {
        ADD_FAILURE() << "cannot connect trickler " << i;
        close(fd);
        continue;
      }
      const std::string start = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
      (void)send(fd, start.data(), start.size(), MSG_NOSIGNAL);
      fds_.push_back(fd);
    }
    // One more header byte on every socket every 500 ms, for at most a
    // minute: the request never completes.
    thread_ = std::thread([this] {
      for (int round = 0; round < 120; ++round) {
        {
          absl::MutexLock lock(&mu_);
          if (mu_.AwaitWithTimeout(absl::Condition(&stop_),
                                   absl::Milliseconds(500))) {
            return;
          }
        }
        for (int fd : fds_) (void)send(fd, "a", 1, MSG_NOSIGNAL);
      }
    });
  }
  ~Tricklers() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    thread_.join();
    for (int fd : fds_) close(fd);
  }
  size_t size() const { return fds_.size(); }

  // How many sockets the server has closed, waiting up to `wait` for all.
  int ClosedByServer(absl::Duration wait) {
    const absl::Time until = absl::Now() + wait;
    int closed = 0;
    std::vector<bool> seen(fds_.size());
    while (closed < static_cast<int>(fds_.size()) && absl::Now() < until) {
      std::vector<pollfd> polls;
      for (int fd : fds_) polls.push_back({fd, POLLIN, 0});
      if (poll(polls.data(), polls.size(), 200) <= 0) continue;
      for (size_t i = 0; i < polls.size(); ++i) {
        if (seen[i] || polls[i].revents == 0) continue;
        char buffer[512];
        const ssize_t n = recv(fds_[i], buffer, sizeof(buffer), MSG_DONTWAIT);
        if (n <= 0) {  // EOF or reset: the server closed it.
          seen[i] = true;
          ++closed;
        }
      }
    }
    return closed;
  }

 private:
  std::vector<int> fds_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

TEST(IsolationTest, TricklingSocketsDoNotStarveTheHttpListener) {
  DirectoryEnv env(
      Options({"--hook_base_url=local", "--http_request_timeout=3s"}));
  ASSERT_FALSE(env.account("demo").empty());
  // Watching registers hooks, so that a real hook URL takes a delivery.
  auto directory = v1::UserDirectory::NewStub(env.channel());
  v1::WatchDirectoryRequest watch;
  watch.set_integrated_account_id(env.account("demo"));
  watch.set_include_snapshot(true);
  EventReader reader(watch);
  reader.Start(directory.get());
  ASSERT_TRUE(reader.WaitForEvent([](const v1::DirectoryEvent& e) {
    return e.type() == v1::DirectoryEvent::SNAPSHOT_COMPLETE;
  }));
  EXPECT_THAT(env.Sim("POST", "/_sim/hooks/wait"),
              ::testing::HasSubstr("true"));
  rapidjson::Document hooks;
  hooks.Parse(env.Sim("GET", "/_sim/hooks").c_str());
  ASSERT_TRUE(hooks.IsArray() && hooks.Size() > 0);
  const auto& hook = hooks[0];
  const std::string hook_url = hook["url"].GetString();
  const std::string delivery =
      absl::StrCat("hook_id=", hook["hook_id"].GetInt64(),
                   "&type=member.add&space_id=", hook["ref_id"].GetInt64(),
                   "&user_id=5000000001");

  Tricklers tricklers(env.server().http_address, 200);
  ASSERT_EQ(tricklers.size(), 200u);
  auto http = NewCurlHttpClient({});
  const std::string base = "http://" + env.server().http_address;
  for (int round = 0; round < 3; ++round) {
    // Each answers within 2 s (the requests' whole-transfer budget).
    HttpRequest health;
    health.url = base + "/healthz";
    health.timeout = absl::Seconds(2);
    absl::StatusOr<HttpResponse> answer = http->Send(health);
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->status, 200);
    EXPECT_EQ(answer->body, "ok\n");

    HttpRequest callback;
    callback.url = base + "/oauth/callback?code=abc&state=forged";
    callback.timeout = absl::Seconds(2);
    answer = http->Send(callback);
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->status, 400);
    EXPECT_THAT(answer->body, ::testing::HasSubstr("not linked"));

    HttpRequest deliver;
    deliver.method = "POST";
    deliver.url = hook_url;
    deliver.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    deliver.body = delivery;
    deliver.timeout = absl::Seconds(2);
    answer = http->Send(deliver);
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->status, 200) << answer->body;
  }
  // The tricklers' requests never arrived whole in 3 s: the server closed
  // every one of them.
  EXPECT_EQ(tricklers.ClosedByServer(absl::Seconds(30)), 200);
  reader.Cancel();
}

TEST(IsolationTest, AnAbandonedRefreshDoesNotBlockItsAccount) {
  DirectoryEnv env(Options({}));
  const std::string account = env.account("demo");
  ASSERT_FALSE(account.empty());
  auto directory = v1::UserDirectory::NewStub(env.channel());
  auto accounts = v1::IntegratedAccounts::NewStub(env.channel());
  auto get_me = [&](absl::Duration deadline) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    v1::GetMeRequest request;
    request.set_integrated_account_id(account);
    v1::User me;
    return directory->GetMe(&context, request, &me);
  };
  ASSERT_TRUE(get_me(absl::Seconds(10)).ok());

  // The token endpoint now takes 30 s to answer.
  env.AddFault(R"({"method":"POST","path":"/oauth/token","kind":"latency",)"
               R"("latency_ms":30000})");
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  v1::RefreshCredentialsRequest refresh;
  refresh.set_integrated_account_id(account);
  v1::IntegratedAccount refreshed;
  grpc::Status s = accounts->RefreshCredentials(&context, refresh, &refreshed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << s.error_message();
  // The refresh goes on, yet calls on the still-valid token go ahead, well
  // inside a deadline the 30 s refresh would blow.
  for (int i = 0; i < 3; ++i) {
    grpc::Status me = get_me(absl::Seconds(5));
    EXPECT_TRUE(me.ok()) << me.error_message();
  }
  // A second refresh waits for the one in flight, up to its own deadline.
  grpc::ClientContext again;
  again.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  s = accounts->RefreshCredentials(&again, refresh, &refreshed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(get_me(absl::Seconds(5)).ok());
  env.ClearFaults();
}

TEST(IsolationTest, AStalledStreamEndsAndResumesWhereItWas) {
  DirectoryEnv env(Options({"--stream_stall_timeout=1s"}, /*users=*/1500));
  const std::string account = env.account("demo");
  ASSERT_FALSE(account.empty());
  auto channels = SeparateChannels(
      env.server().address, env.files().api_keys.at(DirectoryEnv::kTenantA), 1,
      /*small_windows=*/true);
  auto directory = v1::UserDirectory::NewStub(channels[0]);
  v1::ListUsersRequest request;
  request.set_integrated_account_id(account);
  request.set_limit(5);

  // Everything, read without stopping.
  std::vector<std::string> all;
  {
    grpc::ClientContext context;
    auto reader = directory->StreamUsers(&context, request);
    v1::ListUsersResponse page;
    while (reader->Read(&page)) {
      for (const auto& u : page.result()) all.push_back(u.id());
    }
    ASSERT_TRUE(reader->Finish().ok());
  }
  ASSERT_GE(all.size(), 1000u);

  // Three messages, then the client stops reading.
  std::vector<std::string> seen;
  std::string last_cursor;
  grpc::ClientContext context;
  auto reader = directory->StreamUsers(&context, request);
  v1::ListUsersResponse page;
  for (int i = 0; i < 3 && reader->Read(&page); ++i) {
    for (const auto& u : page.result()) seen.push_back(u.id());
    last_cursor = page.next_cursor();
  }
  // The server ends the stream once it has waited the stall timeout: its
  // log says so.
  bool logged = false;
  for (int i = 0; i < 600 && !logged; ++i) {
    std::ifstream in(env.log_path());
    const std::string log((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
    logged = absl::StrContains(log, "accepted no message");
    if (!logged) absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(logged);
  // Reading again, the client gets what was already on its way, then the
  // status naming where to resume.
  while (reader->Read(&page)) {
    for (const auto& u : page.result()) seen.push_back(u.id());
    last_cursor = page.next_cursor();
  }
  grpc::Status stalled = reader->Finish();
  EXPECT_EQ(stalled.error_code(), grpc::StatusCode::ABORTED)
      << stalled.error_message();
  EXPECT_EQ(ErrorInfoOf(stalled).reason(), "STREAM_STALLED");
  ASSERT_FALSE(last_cursor.empty());
  EXPECT_EQ(ErrorInfoOf(stalled).metadata().at("resume_cursor"), last_cursor);
  ASSERT_LT(seen.size(), all.size());

  // Resuming from the last cursor yields exactly the users not yet seen.
  grpc::ClientContext resume_context;
  request.set_cursor(last_cursor);
  auto resumed = directory->StreamUsers(&resume_context, request);
  while (resumed->Read(&page)) {
    for (const auto& u : page.result()) seen.push_back(u.id());
  }
  ASSERT_TRUE(resumed->Finish().ok());
  EXPECT_EQ(seen, all);
}

}  // namespace
}  // namespace unified::testing
