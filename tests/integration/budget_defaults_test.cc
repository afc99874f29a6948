// Each provider's rate budget starts from the limits its plug-in documents
// (Provider::rate_limits in connectors/plugin.h), and the operator's
// --rate_limit replaces them for every provider. Read through
// GetIntegratedAccount before any provider answer could teach the budget a
// limit: SCIM names none in its answers.
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "tests/integration/directory_env.h"
#include "tools/testing/subprocess.h"

namespace unified {
namespace {

using ::unified::testing::DirectoryEnv;
using ::unified::testing::DirectoryEnvOptions;

class BudgetDefaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    scim_ = testing::StartScimSim({"--users=3", "--seed=7"});
    ASSERT_FALSE(scim_.base.empty());
    DirectoryEnvOptions options;
    options.data.users = 5;
    options.extra_server_flags = {"--scim_base_url=" + scim_.base,
                                  "--scim_rate_limit=40"};
    env_ = std::make_unique<DirectoryEnv>(options);
  }

  std::string ImportScimToken() {
    auto accounts = v1::IntegratedAccounts::NewStub(env_->channel());
    grpc::ClientContext context;
    v1::ImportTokensRequest request;
    request.set_provider("scim");
    request.set_access_token("scim-demo-token");
    v1::IntegratedAccount linked;
    grpc::Status s = accounts->ImportTokens(&context, request, &linked);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return linked.id();
  }

  v1::UpstreamBudget Budget(const std::string& account) {
    auto accounts = v1::IntegratedAccounts::NewStub(env_->channel());
    grpc::ClientContext context;
    v1::GetIntegratedAccountRequest request;
    request.set_integrated_account_id(account);
    v1::IntegratedAccount out;
    grpc::Status s = accounts->GetIntegratedAccount(&context, request, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.budget();
  }

  testing::ScimSimProcess scim_;
  std::unique_ptr<DirectoryEnv> env_;
};

TEST_F(BudgetDefaultsTest, EachProviderStartsFromItsPluginsLimits) {
  const std::string scim = ImportScimToken();
  ASSERT_FALSE(scim.empty());
  v1::UpstreamBudget budget = Budget(scim);
  EXPECT_EQ(budget.limit(), 40);
  EXPECT_EQ(budget.rate_limited_limit(), 40);
  // Podio's documented 250 for its restricted class (the simulator's
  // answers to the linking calls name only the normal class's limit).
  EXPECT_EQ(Budget(env_->account("demo")).rate_limited_limit(), 250);

  // The operator's limit replaces the plug-ins' for every provider; the
  // restricted class keeps each plug-in's, not set here.
  ASSERT_EQ(env_->StopServer(), 0);
  ASSERT_TRUE(env_->StartServer({"--rate_limit=77"}));
  budget = Budget(scim);
  EXPECT_EQ(budget.limit(), 77);
  EXPECT_EQ(budget.rate_limited_limit(), 40);
}

}  // namespace
}  // namespace unified
