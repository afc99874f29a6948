// Starts the real //service:server binary on a free loopback port and talks to
// it over a real channel: health checking, server reflection (the way grpcurl
// uses it), a unary call, and graceful shutdown on SIGTERM.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "proto/unified/v1/proxy.grpc.pb.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "tools/testing/api_key_channel.h"
#include "tools/testing/service_files.h"
#include "tests/testing/status_matchers.h"
#include "tools/testing/subprocess.h"

namespace unified {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::grpc::reflection::v1alpha::ServerReflection;
using ::grpc::reflection::v1alpha::ServerReflectionRequest;
using ::grpc::reflection::v1alpha::ServerReflectionResponse;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;
using ::unified::testing::Subprocess;

constexpr absl::Duration kStartTimeout = absl::Seconds(30);

// Secrets for one server, in a fresh directory: key ring, API key of tenant
// "t1", client secret.
const unified::testing::ServiceFiles& Files() {
  static const auto* files =
      new unified::testing::ServiceFiles(*unified::testing::WriteServiceFiles(
          unified::testing::MakeTempDir("server"), {"t1"}));
  return *files;
}

// Server flags: the files above (Podio is never called in these tests) and
// `extra`.
std::vector<std::string> ServerArgs(std::vector<std::string> extra) {
  std::vector<std::string> args = Files().ServerFlags("http://127.0.0.1:9");
  args.push_back("--http_listen=127.0.0.1:0");
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// The ErrorInfo reason of `status` ("" when it has none).
std::string ReasonOf(const grpc::Status& status) {
  google::rpc::Status rich;
  if (!rich.ParseFromString(status.error_details())) return "";
  for (const auto& detail : rich.details()) {
    google::rpc::ErrorInfo info;
    if (detail.UnpackTo(&info)) return info.reason();
  }
  return "";
}

class ServerIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  void Start(const std::vector<std::string>& extra) {
    std::vector<std::string> flags = {"--listen=127.0.0.1:0",
                                      "--shutdown_grace=1s"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    auto process = Subprocess::Start(
        unified::testing::RunfilePath("service/server"), ServerArgs(flags));
    ASSERT_THAT(process, IsOk());
    server_ = std::move(*process);
    auto address = server_->WaitForLine("listening on ", kStartTimeout);
    ASSERT_THAT(address, IsOk());
    address_ = *address;
    channel_ =
        unified::testing::ApiKeyChannel(address_, Files().api_keys.at("t1"));
    ASSERT_TRUE(channel_->WaitForConnected(
        absl::ToChronoTime(absl::Now() + kStartTimeout)));
  }

  std::unique_ptr<Subprocess> server_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ServerIntegrationTest, ListensOnLoopbackWithAPickedPort) {
  ASSERT_THAT(address_, ::testing::StartsWith("127.0.0.1:"));
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(address_.substr(10), &port));
  EXPECT_GT(port, 0);
}

TEST_F(ServerIntegrationTest, HealthReportsEveryServiceServing) {
  auto health = Health::NewStub(channel_);
  for (const std::string service :
       {"", "unified.v1.UserDirectory", "unified.v1.IntegratedAccounts",
        "unified.v1.Proxy"}) {
    grpc::ClientContext context;
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    ASSERT_THAT(health->Check(&context, request, &response), IsOk())
        << "service '" << service << "'";
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING)
        << "service '" << service << "'";
  }
  grpc::ClientContext context;
  HealthCheckRequest request;
  request.set_service("no.such.Service");
  HealthCheckResponse response;
  EXPECT_THAT(health->Check(&context, request, &response),
              StatusIs(grpc::StatusCode::NOT_FOUND));
}

// A minimal reflection client, doing what grpcurl's `list` and `describe` do.
class ReflectionClient {
 public:
  explicit ReflectionClient(std::shared_ptr<grpc::Channel> channel)
      : stub_(ServerReflection::NewStub(channel)),
        stream_(stub_->ServerReflectionInfo(&context_)) {}

  ~ReflectionClient() {
    stream_->WritesDone();
    stream_->Finish();
  }

  std::vector<std::string> ListServices() {
    ServerReflectionRequest request;
    request.set_list_services("*");
    ServerReflectionResponse response = Ask(request);
    std::vector<std::string> names;
    for (const auto& service : response.list_services_response().service()) {
      names.push_back(service.name());
    }
    return names;
  }

  // Loads the file defining `symbol` and, transitively, every file it
  // imports, into `pool_`, using only what the server answers.
  bool LoadSymbol(const std::string& symbol) {
    ServerReflectionRequest request;
    request.set_file_containing_symbol(symbol);
    return AddFiles(Ask(request));
  }

  const google::protobuf::DescriptorPool& pool() { return pool_; }

 private:
  ServerReflectionResponse Ask(const ServerReflectionRequest& request) {
    ServerReflectionResponse response;
    if (!stream_->Write(request) || !stream_->Read(&response)) {
      ADD_FAILURE() << "reflection stream broke";
    }
    return response;
  }

  // Collects the answered files, fetches missing imports by name, then builds
  // them dependencies first.
  bool AddFiles(const ServerReflectionResponse& first) {
    std::vector<ServerReflectionResponse> pending = {first};
    while (!pending.empty()) {
      ServerReflectionResponse response = pending.back();
      pending.pop_back();
      if (!response.has_file_descriptor_response()) {
        ADD_FAILURE() << "no file descriptors: "
                      << response.error_response().error_message();
        return false;
      }
      for (const std::string& bytes :
           response.file_descriptor_response().file_descriptor_proto()) {
        google::protobuf::FileDescriptorProto file;
        if (!file.ParseFromString(bytes)) return false;
        files_[file.name()] = file;
      }
      for (const auto& [name, file] : files_) {
        for (const std::string& dependency : file.dependency()) {
          if (files_.count(dependency) || requested_.count(dependency)) {
            continue;
          }
          requested_.insert(dependency);
          ServerReflectionRequest request;
          request.set_file_by_filename(dependency);
          pending.push_back(Ask(request));
        }
      }
    }
    for (const auto& entry : files_) {
      std::set<std::string> visiting;
      if (!Build(entry.first, visiting)) return false;
    }
    return true;
  }

  bool Build(const std::string& name, std::set<std::string>& visiting) {
    if (pool_.FindFileByName(name) != nullptr) return true;
    auto it = files_.find(name);
    if (it == files_.end() || !visiting.insert(name).second) {
      ADD_FAILURE() << "missing or cyclic file " << name;
      return false;
    }
    for (const std::string& dependency : it->second.dependency()) {
      if (!Build(dependency, visiting)) return false;
    }
    if (pool_.BuildFile(it->second) == nullptr) {
      ADD_FAILURE() << "cannot build " << name;
      return false;
    }
    return true;
  }

  std::map<std::string, google::protobuf::FileDescriptorProto> files_;
  std::set<std::string> requested_;
  std::unique_ptr<ServerReflection::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<ServerReflectionRequest,
                                           ServerReflectionResponse>>
      stream_;
  google::protobuf::DescriptorPool pool_;
};

TEST_F(ServerIntegrationTest, ReflectionListsAndResolvesEveryService) {
  ReflectionClient reflection(channel_);
  const std::vector<std::string> services = reflection.ListServices();
  EXPECT_THAT(services, Contains("unified.v1.UserDirectory"));
  EXPECT_THAT(services, Contains("grpc.health.v1.Health"));
  EXPECT_THAT(services, Contains("grpc.reflection.v1alpha.ServerReflection"));

  for (const std::string& name : services) {
    ASSERT_TRUE(reflection.LoadSymbol(name)) << name;
    const google::protobuf::ServiceDescriptor* service =
        reflection.pool().FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    EXPECT_GT(service->method_count(), 0) << name;
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* method = service->method(i);
      EXPECT_NE(method->input_type(), nullptr) << method->full_name();
      EXPECT_NE(method->output_type(), nullptr) << method->full_name();
    }
  }
  const google::protobuf::ServiceDescriptor* directory =
      reflection.pool().FindServiceByName("unified.v1.UserDirectory");
  ASSERT_NE(directory, nullptr);
  const google::protobuf::MethodDescriptor* get_me =
      directory->FindMethodByName("GetMe");
  ASSERT_NE(get_me, nullptr);
  EXPECT_EQ(get_me->output_type()->full_name(), "unified.v1.User");
  // Messages imported from another of our files resolve as well.
  EXPECT_NE(reflection.pool().FindMessageTypeByName("unified.v1.User"),
            nullptr);
}

// What grpcurl needs, from reflection alone: every unified.v1 service, method
// and message, with the same shape as the compiled-in contract, down to the
// imported well-known types (Timestamp, Struct, Value).
TEST_F(ServerIntegrationTest, ReflectionServesTheWholeUnifiedV1Contract) {
  ReflectionClient reflection(channel_);
  const std::vector<std::string> served = reflection.ListServices();
  const google::protobuf::DescriptorPool* compiled =
      google::protobuf::DescriptorPool::generated_pool();
  std::set<std::string> files;
  for (const std::string& name : {v1::UserDirectory::service_full_name(),
                                  v1::IntegratedAccounts::service_full_name(),
                                  v1::Proxy::service_full_name()}) {
    EXPECT_THAT(served, Contains(name));
    ASSERT_TRUE(reflection.LoadSymbol(name)) << name;
    const auto* mine = compiled->FindServiceByName(name);
    const auto* theirs = reflection.pool().FindServiceByName(name);
    ASSERT_NE(mine, nullptr);
    ASSERT_NE(theirs, nullptr) << name;
    ASSERT_EQ(theirs->method_count(), mine->method_count()) << name;
    for (int i = 0; i < mine->method_count(); ++i) {
      const auto* m = mine->method(i);
      const auto* t = theirs->FindMethodByName(m->name());
      ASSERT_NE(t, nullptr) << m->full_name();
      EXPECT_EQ(t->input_type()->full_name(), m->input_type()->full_name());
      EXPECT_EQ(t->output_type()->full_name(), m->output_type()->full_name());
      EXPECT_EQ(t->server_streaming(), m->server_streaming());
    }
    files.insert(mine->file()->name());
    for (int i = 0; i < mine->file()->dependency_count(); ++i) {
      files.insert(mine->file()->dependency(i)->name());
    }
  }
  // Every message of every unified.v1 file (and what they import), field by
  // field, with every field's type resolved.
  int messages = 0;
  for (const std::string& file_name : files) {
    const auto* mine = compiled->FindFileByName(file_name);
    const auto* theirs = reflection.pool().FindFileByName(file_name);
    ASSERT_NE(mine, nullptr) << file_name;
    ASSERT_NE(theirs, nullptr) << file_name;
    ASSERT_EQ(theirs->message_type_count(), mine->message_type_count());
    for (int i = 0; i < mine->message_type_count(); ++i) {
      const auto* m = mine->message_type(i);
      const auto* t = theirs->FindMessageTypeByName(m->name());
      ASSERT_NE(t, nullptr) << m->full_name();
      ++messages;
      ASSERT_EQ(t->field_count(), m->field_count()) << m->full_name();
      for (int f = 0; f < m->field_count(); ++f) {
        const auto* mf = m->field(f);
        const auto* tf = t->FindFieldByNumber(mf->number());
        ASSERT_NE(tf, nullptr) << mf->full_name();
        EXPECT_EQ(tf->name(), mf->name());
        EXPECT_EQ(tf->type(), mf->type()) << mf->full_name();
        if (mf->message_type() != nullptr) {
          ASSERT_NE(tf->message_type(), nullptr) << mf->full_name();
          EXPECT_EQ(tf->message_type()->full_name(),
                    mf->message_type()->full_name());
        }
        if (mf->enum_type() != nullptr) {
          ASSERT_NE(tf->enum_type(), nullptr) << mf->full_name();
          EXPECT_EQ(tf->enum_type()->value_count(),
                    mf->enum_type()->value_count());
        }
      }
    }
  }
  EXPECT_GT(messages, 40);
  for (const char* wkt : {"google.protobuf.Timestamp", "google.protobuf.Struct",
                          "google.protobuf.Value"}) {
    EXPECT_NE(reflection.pool().FindMessageTypeByName(wkt), nullptr) << wkt;
  }
}

TEST_F(ServerIntegrationTest, GetMeValidatesTheAccountId) {
  auto directory = v1::UserDirectory::NewStub(channel_);
  {
    grpc::ClientContext context;
    v1::GetMeRequest request;
    v1::User user;
    grpc::Status status = directory->GetMe(&context, request, &user);
    EXPECT_THAT(status, StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                 HasSubstr("integrated_account_id")));
    // The rich error model travels in the trailer.
    google::rpc::Status rich;
    ASSERT_TRUE(rich.ParseFromString(status.error_details()));
    EXPECT_EQ(rich.code(), grpc::StatusCode::INVALID_ARGUMENT);
    ASSERT_EQ(rich.details_size(), 1);
    google::rpc::ErrorInfo info;
    ASSERT_TRUE(rich.details(0).UnpackTo(&info));
    EXPECT_EQ(info.reason(), "MISSING_ARGUMENT");
    EXPECT_EQ(info.metadata().at("field"), "integrated_account_id");
    EXPECT_EQ(info.domain(), "unified.v1");
  }
  {
    grpc::ClientContext context;
    v1::GetMeRequest request;
    request.set_integrated_account_id("acct_unknown");
    v1::User user;
    EXPECT_THAT(
        directory->GetMe(&context, request, &user),
        StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("acct_unknown")));
  }
  {
    grpc::ClientContext context;
    v1::GetMeRequest request;
    request.set_integrated_account_id(std::string(129, 'a'));
    v1::User user;
    EXPECT_THAT(directory->GetMe(&context, request, &user),
                StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                         HasSubstr("longer than 128")));
  }
}

// The error model holds with metrics on and off: --metrics=false turns off
// the exposition and the counting, never the checks or the details.
class ErrorModelTest : public ServerIntegrationTest,
                       public ::testing::WithParamInterface<const char*> {
 protected:
  void SetUp() override { Start({GetParam()}); }
};

INSTANTIATE_TEST_SUITE_P(Metrics, ErrorModelTest,
                         ::testing::Values("--metrics=true",
                                           "--metrics=false"));

TEST_P(ErrorModelTest, RefusesOversizedRequests) {
  auto directory = v1::UserDirectory::NewStub(channel_);
  grpc::ClientContext context;
  v1::GetMeRequest request;
  request.set_integrated_account_id(std::string(5 * 1024 * 1024, 'a'));
  v1::User user;
  grpc::Status status = directory->GetMe(&context, request, &user);
  EXPECT_THAT(status, StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_EQ(ReasonOf(status), "MESSAGE_TOO_LARGE");
}

TEST_P(ErrorModelTest, UnparseableRequestsAreInvalidArgument) {
  grpc::GenericStub generic(channel_);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kStartTimeout));
  // Field 1 (a string) claiming 100 bytes that never come.
  const char garbage[] = "\x0a\x64\x01";
  grpc::Slice slice(garbage, sizeof(garbage) - 1);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  generic.UnaryCall(&context, "/unified.v1.UserDirectory/GetMe",
                    grpc::StubOptions(), &request, &response,
                    [&](grpc::Status s) {
                      status = std::move(s);
                      done.Notify();
                    });
  done.WaitForNotification();
  EXPECT_THAT(status, StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(ReasonOf(status), "MALFORMED_REQUEST");
  EXPECT_FALSE(status.error_message().empty());
}

TEST_F(ServerIntegrationTest, ShutsDownGracefullyOnSigterm) {
  server_->Signal(SIGTERM);
  absl::StatusOr<int> exit_code = server_->Wait(absl::Seconds(20));
  ASSERT_THAT(exit_code, IsOk());
  EXPECT_EQ(*exit_code, 0);
  // New calls are refused once it is gone.
  auto health = Health::NewStub(channel_);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  HealthCheckRequest request;
  HealthCheckResponse response;
  EXPECT_FALSE(health->Check(&context, request, &response).ok());
}

TEST(ServerFlagsTest, RefusesAnAddressInUse) {
  auto first =
      Subprocess::Start(unified::testing::RunfilePath("service/server"),
                        ServerArgs({"--listen=127.0.0.1:0"}));
  ASSERT_THAT(first, IsOk());
  auto address = (*first)->WaitForLine("listening on ", kStartTimeout);
  ASSERT_THAT(address, IsOk());
  auto second =
      Subprocess::Start(unified::testing::RunfilePath("service/server"),
                        ServerArgs({absl::StrCat("--listen=", *address)}));
  ASSERT_THAT(second, IsOk());
  absl::StatusOr<int> exit_code = (*second)->Wait(kStartTimeout);
  ASSERT_THAT(exit_code, IsOk());
  EXPECT_EQ(*exit_code, 1);
}

// Calls without a valid API key learn nothing, in either service.
TEST_F(ServerIntegrationTest, CallsNeedAnApiKey) {
  for (const std::string key :
       {"", "uk_0000000000000000000000000000000000000000"}) {
    auto channel = unified::testing::ApiKeyChannel(address_, key);
    auto directory = v1::UserDirectory::NewStub(channel);
    auto accounts = v1::IntegratedAccounts::NewStub(channel);
    grpc::ClientContext c1;
    v1::GetMeRequest me;
    me.set_integrated_account_id("ia_0");
    v1::User user;
    grpc::Status status = directory->GetMe(&c1, me, &user);
    EXPECT_THAT(status, StatusIs(grpc::StatusCode::UNAUTHENTICATED));
    google::rpc::Status rich;
    ASSERT_TRUE(rich.ParseFromString(status.error_details()));
    google::rpc::ErrorInfo info;
    ASSERT_TRUE(rich.details(0).UnpackTo(&info));
    EXPECT_EQ(info.reason(),
              key.empty() ? "API_KEY_MISSING" : "API_KEY_INVALID");
    grpc::ClientContext c2;
    v1::ListIntegratedAccountsResponse list;
    EXPECT_THAT(accounts->ListIntegratedAccounts(
                    &c2, v1::ListIntegratedAccountsRequest(), &list),
                StatusIs(grpc::StatusCode::UNAUTHENTICATED));
  }
}

// Start-up refuses a missing or wrong-sized encryption key, and missing API
// keys, with a message that says what to do.
TEST(ServerFlagsTest, RefusesMissingSecretsClearly) {
  const std::string dir = unified::testing::MakeTempDir("flags");
  ASSERT_THAT(
      unified::testing::WritePrivateFile(dir + "/short", "k1:c2hvcnQ=\n"),
      IsOk());
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  } cases[] = {
      {{"--encryption_keys_file="}, "UNIFIED_ENCRYPTION_KEYS"},
      {{"--encryption_keys_file=" + dir + "/short"}, "exactly 32"},
      {{"--api_keys_file="}, "UNIFIED_API_KEYS"},
      {{"--api_keys_file=" + dir + "/open_keys"},
       "is readable by group or others (mode 0644)"},
  };
  ASSERT_THAT(unified::testing::WritePrivateFile(dir + "/open_keys",
                                                 "tenant-x sha256:00\n"),
              IsOk());
  ASSERT_EQ(chmod((dir + "/open_keys").c_str(), 0644), 0);
  for (const Case& c : cases) {
    std::vector<std::string> args = ServerArgs({"--listen=127.0.0.1:0"});
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    const std::string log = dir + "/stderr-" + std::to_string(&c - cases);
    auto server = Subprocess::Start(
        unified::testing::RunfilePath("service/server"), args, log);
    ASSERT_THAT(server, IsOk());
    absl::StatusOr<int> exit_code = (*server)->Wait(kStartTimeout);
    ASSERT_THAT(exit_code, IsOk());
    EXPECT_EQ(*exit_code, 1);
    std::ifstream in(log);
    const std::string text((std::istreambuf_iterator<char>(in)),
                           std::istreambuf_iterator<char>());
    EXPECT_THAT(text, HasSubstr(c.message)) << c.flags[0];
  }
}

// --help lists the server's own flags.
TEST(ServerFlagsTest, HelpListsTheServersFlags) {
  auto server = Subprocess::Start(
      unified::testing::RunfilePath("service/server"), {"--help"});
  ASSERT_THAT(server, IsOk());
  ASSERT_THAT((*server)->WaitForLine("    --listen", kStartTimeout), IsOk());
  (void)(*server)->Wait(kStartTimeout);
}

// The data directory and the store's files are the owner's alone, even when
// the directory existed with a looser mode.
TEST(ServerFlagsTest, DataFilesArePrivate) {
  const std::string dir = unified::testing::MakeTempDir("modes") + "/data";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  std::vector<std::string> args = ServerArgs({"--listen=127.0.0.1:0"});
  args.push_back("--data_dir=" + dir);
  auto server =
      Subprocess::Start(unified::testing::RunfilePath("service/server"), args);
  ASSERT_THAT(server, IsOk());
  ASSERT_THAT((*server)->WaitForLine("listening on ", kStartTimeout), IsOk());
  struct stat st {};
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  int files = 0;
  for (const char* name :
       {"/accounts.db", "/accounts.db-wal", "/accounts.db-shm"}) {
    if (stat((dir + name).c_str(), &st) != 0) continue;
    ++files;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
  }
  EXPECT_GE(files, 1);
  (*server)->Signal(SIGTERM);
  (void)(*server)->Wait(kStartTimeout);
}

}  // namespace
}  // namespace unified
