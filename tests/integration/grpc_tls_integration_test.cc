// The gRPC listener on a network: TLS (plaintext clients fail), mTLS (a
// client without a certificate the CA signed fails), a certificate rotated on
// disk served without a restart, and plaintext refused off loopback unless
// allowed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "connectors/common/http_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "tests/integration/directory_env.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/wait_until.h"
#include "tools/testing/service_files.h"

namespace unified {
namespace {

using ::testing::HasSubstr;
using ::unified::testing::DirectoryEnv;
using ::unified::testing::DirectoryEnvOptions;
using ::unified::testing::IsOk;
using ::unified::testing::ReadFile;
using ::unified::testing::RunfilePath;
using ::unified::testing::StatusIs;

std::string Tls(const std::string& name) {
  return RunfilePath(absl::StrCat("tests/testing/tls/", name));
}

// Writes `from` to `to` whole (replacing it at once), mode 0600.
void Install(const std::string& from, const std::string& to) {
  const std::string temp = to + ".new";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << ReadFile(from);
  }
  chmod(temp.c_str(), 0600);
  ASSERT_EQ(std::rename(temp.c_str(), to.c_str()), 0);
}

// The certificate (PEM) the TLS server at 127.0.0.1:`port` presents, or "".
std::string PeerCertificate(int port) {
  std::string pem;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (ctx != nullptr && fd >= 0 &&
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) == 1) {
      if (X509* cert = SSL_get1_peer_certificate(ssl)) {
        BIO* out = BIO_new(BIO_s_mem());
        PEM_write_bio_X509(out, cert);
        char* data = nullptr;
        const long n = BIO_get_mem_data(out, &data);
        pem.assign(data, n);
        BIO_free(out);
        X509_free(cert);
      }
    }
    SSL_free(ssl);
  }
  if (fd >= 0) close(fd);
  SSL_CTX_free(ctx);
  return pem;
}

grpc::ChannelArguments LocalhostName() {
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  return args;
}

std::shared_ptr<grpc::ChannelCredentials> TlsCredentials(
    const std::string& client = "") {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFile(Tls("ca.pem"));
  if (!client.empty()) {
    ssl.pem_cert_chain = ReadFile(Tls(client + ".pem"));
    ssl.pem_private_key = ReadFile(Tls(client + ".key"));
  }
  return grpc::SslCredentials(ssl);
}

grpc::Status GetMe(std::shared_ptr<grpc::Channel> channel,
                   const std::string& account,
                   grpc::ClientContext* context = nullptr) {
  grpc::ClientContext local;
  if (context == nullptr) context = &local;
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::GetMeRequest request;
  request.set_integrated_account_id(account);
  v1::User me;
  return v1::UserDirectory::NewStub(channel)->GetMe(context, request, &me);
}

class GrpcTlsTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& extra_flags,
             const std::string& client = "") {
    dir_ = testing::MakeTempDir("tls");
    Install(Tls("server.pem"), dir_ + "/cert.pem");
    Install(Tls("server.key"), dir_ + "/key.pem");
    DirectoryEnvOptions options;
    options.data.users = 20;
    options.extra_server_flags = {"--tls_cert_file=" + dir_ + "/cert.pem",
                                  "--tls_key_file=" + dir_ + "/key.pem",
                                  "--tls_reload_interval=1s"};
    options.extra_server_flags.insert(options.extra_server_flags.end(),
                                      extra_flags.begin(), extra_flags.end());
    options.grpc_credentials = TlsCredentials(client);
    options.channel_args = LocalhostName();
    env_ = std::make_unique<DirectoryEnv>(options);
  }

  std::shared_ptr<grpc::Channel> Channel(
      std::shared_ptr<grpc::ChannelCredentials> credentials) {
    return testing::ApiKeyChannel(env_->server().address,
                                  env_->files().api_keys.at("tenant-a"),
                                  LocalhostName(), credentials);
  }

  std::string dir_;
  std::unique_ptr<DirectoryEnv> env_;
};

TEST_F(GrpcTlsTest, TlsClientsWorkAndPlaintextOnesFail) {
  Start({});
  const std::string demo = env_->account("demo");
  ASSERT_FALSE(demo.empty());
  EXPECT_THAT(GetMe(env_->channel(), demo), IsOk());
  EXPECT_THAT(GetMe(Channel(grpc::InsecureChannelCredentials()), demo),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
  // A client that trusts another CA refuses the server.
  grpc::SslCredentialsOptions other;
  other.pem_root_certs = ReadFile(Tls("other_ca.pem"));
  EXPECT_THAT(GetMe(Channel(grpc::SslCredentials(other)), demo),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
  // The HTTP side listener serves the same certificate.
  auto https = NewCurlHttpClient({Tls("ca.pem")});
  HttpRequest health;
  health.url = absl::StrCat("https://localhost:",
                            env_->server().http_address.substr(
                                env_->server().http_address.rfind(':') + 1),
                            "/healthz");
  absl::StatusOr<HttpResponse> ok = https->Send(health);
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(ok->status, 200);
  health.url = absl::StrCat("http://", env_->server().http_address, "/healthz");
  absl::StatusOr<HttpResponse> plain = NewCurlHttpClient({})->Send(health);
  EXPECT_FALSE(plain.ok() && plain->status == 200);
}

TEST_F(GrpcTlsTest, ARotatedCertificateIsServedWithoutARestart) {
  Start({});
  const std::string demo = env_->account("demo");
  auto served = [&] {
    grpc::ClientContext context;
    // A new channel: a new handshake.
    EXPECT_THAT(GetMe(Channel(TlsCredentials()), demo, &context), IsOk());
    std::vector<grpc::string_ref> pem =
        context.auth_context()->FindPropertyValues("x509_pem_cert");
    return pem.empty() ? std::string()
                       : std::string(pem[0].data(), pem[0].size());
  };
  EXPECT_EQ(served(), ReadFile(Tls("server.pem")));
  Install(Tls("server2.pem"), dir_ + "/cert.pem");
  Install(Tls("server2.key"), dir_ + "/key.pem");
  // The server re-reads the files every second; wait for the new one to be
  // served (bounded), with the same process.
  const std::string rotated = ReadFile(Tls("server2.pem"));
  testing::WaitUntil([&] { return served() == rotated; }, absl::Seconds(30),
                     absl::Milliseconds(200));
  EXPECT_EQ(served(), rotated);
  // The HTTP side listener follows the same files.
  const int http_port = std::stoi(env_->server().http_address.substr(
      env_->server().http_address.rfind(':') + 1));
  testing::WaitUntil([&] { return PeerCertificate(http_port) == rotated; },
                     absl::Seconds(30), absl::Milliseconds(200));
  EXPECT_EQ(PeerCertificate(http_port), rotated);
  // The same process, and its open channel still works.
  EXPECT_EQ(kill(env_->server().process->pid(), 0), 0);
  EXPECT_THAT(GetMe(env_->channel(), demo), IsOk());
}

TEST_F(GrpcTlsTest, MutualTlsNeedsACertificateTheCaSigned) {
  Start({"--tls_client_ca_file=" + Tls("ca.pem")}, "client");
  const std::string demo = env_->account("demo");
  ASSERT_FALSE(demo.empty());
  EXPECT_THAT(GetMe(env_->channel(), demo), IsOk());
  EXPECT_THAT(GetMe(Channel(TlsCredentials()), demo),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
  EXPECT_THAT(GetMe(Channel(TlsCredentials("other_client")), demo),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
  // The access log names the client's certificate (lines are written in
  // batches: wait for it).
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (ReadFile(env_->log_path()).find("\"client\":\"test-client\"") ==
             std::string::npos &&
         absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_THAT(ReadFile(env_->log_path()),
              HasSubstr("\"client\":\"test-client\""));
}

TEST(ListenSecurityTest, PlaintextOffLoopbackAndBadTlsFilesStopTheStart) {
  DirectoryEnvOptions options;
  options.data.users = 10;
  options.link_accounts = false;
  DirectoryEnv env(options);
  const std::string log = testing::MakeTempDir("refused") + "/stderr";
  auto refused = [&](const std::vector<std::string>& flags) {
    std::vector<std::string> args = env.files().ServerFlags(env.sim_url());
    args.insert(args.end(), flags.begin(), flags.end());
    std::remove(log.c_str());
    auto process =
        testing::Subprocess::Start(RunfilePath("service/server"), args, log);
    EXPECT_THAT(process, IsOk());
    if (!process.ok()) return std::string();
    auto code = (*process)->Wait(absl::Seconds(30));
    EXPECT_THAT(code, IsOk());
    EXPECT_EQ(code.value_or(0), 1);
    return ReadFile(log);
  };
  EXPECT_THAT(refused({"--listen=0.0.0.0:0", "--http_listen="}),
              HasSubstr("refusing to serve plaintext on '0.0.0.0:0'"));
  EXPECT_THAT(refused({"--listen=127.0.0.1:0", "--http_listen=0.0.0.0:0"}),
              HasSubstr("refusing to serve plaintext on '0.0.0.0:0'"));
  EXPECT_THAT(refused({"--tls_cert_file=" + Tls("server.pem"),
                       "--tls_key_file=" + Tls("client.key")}),
              HasSubstr("is not the key of the certificate"));
  EXPECT_THAT(refused({"--tls_cert_file=" + Tls("server.pem")}),
              HasSubstr("--tls_cert_file and --tls_key_file go together"));
}

}  // namespace
}  // namespace unified
