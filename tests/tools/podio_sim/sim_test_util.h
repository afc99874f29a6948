// Shared fixture for simulator tests: an in-process Simulator, an HTTP client
// and helpers to get tokens and parse answers.
#ifndef TESTS_TOOLS_PODIO_SIM_SIM_TEST_UTIL_H_
#define TESTS_TOOLS_PODIO_SIM_SIM_TEST_UTIL_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "connectors/common/http_client.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tools/podio_sim/simulator.h"

namespace unified::podio_sim::testing {

// Parses JSON, failing the test when it is not valid UTF-8 JSON.
inline rapidjson::Document ParseJson(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.c_str(), text.size());
  EXPECT_FALSE(doc.HasParseError()) << "not JSON: " << text.substr(0, 200);
  return doc;
}

// The member names of a JSON object.
inline std::set<std::string> Keys(const rapidjson::Value& object) {
  std::set<std::string> keys;
  if (!object.IsObject()) return keys;
  for (const auto& member : object.GetObject()) {
    keys.insert(member.name.GetString());
  }
  return keys;
}

class SimTest : public ::testing::Test {
 protected:
  // Override to change options before the simulator starts.
  virtual void Configure(SimulatorOptions& options) {}

  void SetUp() override {
    SimulatorOptions options;
    options.admin_api = true;
    options.data.users = 60;
    options.data.orgs = 2;
    options.data.spaces_per_org = 3;
    options.hooks.retry_delay = absl::ZeroDuration();
    Configure(options);
    auto sim = Simulator::Start(options);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    CurlHttpClientOptions client_options;
    client_options.ca_file = ca_file_;
    http_ = NewCurlHttpClient(client_options);
  }

  std::string Url(const std::string& path) const {
    return sim_->base_url() + path;
  }

  HttpResponse Send(const std::string& method, const std::string& path,
                    const std::string& token = "", const std::string& body = "",
                    const std::string& content_type = "application/json") {
    HttpRequest request;
    request.method = method;
    request.url = Url(path);
    if (!token.empty()) {
      request.headers.push_back({"Authorization", "OAuth2 " + token});
    }
    if (!body.empty() || method == "POST" || method == "PUT") {
      request.headers.push_back({"Content-Type", content_type});
    }
    request.body = body;
    absl::StatusOr<HttpResponse> response = http_->Send(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : HttpResponse{};
  }

  HttpResponse Get(const std::string& path, const std::string& token) {
    return Send("GET", path, token);
  }

  HttpResponse TokenCall(const std::string& form) {
    return Send("POST", "/oauth/token", "", form,
                "application/x-www-form-urlencoded");
  }

  // An access token by the password grant.
  std::string PasswordToken(const std::string& username,
                            const std::string& password) {
    HttpResponse r = TokenCall(absl::StrCat(
        "grant_type=password&client_id=demo-client&client_secret=demo-secret"
        "&username=",
        username, "&password=", password));
    EXPECT_EQ(r.status, 200) << r.body;
    rapidjson::Document doc = ParseJson(r.body);
    return doc.IsObject() && doc.HasMember("access_token")
               ? doc["access_token"].GetString()
               : "";
  }
  std::string AdminToken() {
    return PasswordToken("demo@example.com", "demo-password");
  }
  std::string RegularToken() {
    return PasswordToken("regular@example.com", "regular-password");
  }

  // Sends `request` as written (for what an HTTP client library would tidy
  // up: status lines, missing lengths, raw encodings) on a connection the
  // simulator is asked to close, and returns everything it answered.
  std::string RawExchange(const std::string& request) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(sim_->port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string answer;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
        answer.append(buffer, n);
      }
    }
    close(fd);
    EXPECT_FALSE(answer.empty()) << "no answer to " << request;
    return answer;
  }

  int64_t AdminId() const { return kFirstUserId + kAdminUserIndex; }
  int64_t FirstOrg() const { return kFirstOrgId; }
  int64_t FirstSpace() const { return kFirstSpaceId; }

  std::string ca_file_;
  std::unique_ptr<Simulator> sim_;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace unified::podio_sim::testing

#endif  // TESTS_TOOLS_PODIO_SIM_SIM_TEST_UTIL_H_
