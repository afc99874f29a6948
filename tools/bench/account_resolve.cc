// What the credential store adds to every RPC: resolving an integrated
// account (one store read, tenant-checked) and getting its opened access
// token, against a static in-memory resolver, side by side in one run.
//
//   bazel run -c opt //tools/bench:account_resolve
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "connectors/auth.h"
#include "connectors/common/clock.h"
#include "service/core/account_resolver.h"
#include "service/accounts/account_manager.h"
#include "service/accounts/credential_store.h"
#include "service/accounts/sealer.h"
#include "tools/testing/service_files.h"
#include "tools/bench/report.h"

ABSL_FLAG(int, calls, 20000, "Resolutions per measurement.");

namespace unified {
namespace {

// Grants without a provider (the benchmark never refreshes).
class NoAuth final : public ProviderAuth {
 public:
  std::string provider() const override { return "podio"; }
  std::string client_id() const override { return "bench"; }
  absl::Duration default_access_lifetime() const override {
    return absl::Hours(8);
  }
  absl::StatusOr<Grant> Refresh(const std::string&, absl::Time) override {
    return absl::UnimplementedError("");
  }
  absl::StatusOr<Grant> Identify(const std::string&, absl::Time) override {
    return absl::UnimplementedError("");
  }
};

// Mean time of one Resolve + AccessToken.
absl::Duration Measure(AccountResolver& resolver, const std::string& tenant,
                       const std::string& id, int calls) {
  const absl::Time start = absl::Now();
  for (int i = 0; i < calls; ++i) {
    absl::StatusOr<ResolvedAccount> account = resolver.Resolve(tenant, id);
    if (!account.ok() ||
        !account->tokens->AccessToken(absl::InfiniteFuture()).ok()) {
      std::fprintf(stderr, "resolution failed\n");
      std::exit(1);
    }
  }
  return (absl::Now() - start) / calls;
}

int Run() {
  const int calls = absl::GetFlag(FLAGS_calls);
  auto store = accounts::CredentialStore::OpenUrl(
      absl::StrCat("sqlite:", testing::MakeTempDir("bench"), "/accounts.db"));
  auto sealer = accounts::Sealer::Create({{"k1", std::string(32, 'k')}});
  if (!store.ok() || !sealer.ok()) return 1;
  NoAuth auth;
  accounts::AccountManager manager(store->get(), &*sealer, {{"podio", &auth}},
                                   RealClock::Get(), {});
  Grant grant;
  grant.access_token = std::string(128, 'a');
  grant.refresh_token = std::string(128, 'r');
  grant.expires_at = absl::Now() + absl::Hours(8);
  grant.ref_type = "user";
  grant.ref_id = "5000000000";
  auto linked = manager.Link("tenant", "podio", grant, "password");
  if (!linked.ok()) return 1;
  std::unique_ptr<AccountResolver> fixed =
      NewStaticAccountResolver({{linked->id, {"podio", grant.access_token}}});

  Measure(manager, "tenant", linked->id, calls / 10);  // Warm up.
  const absl::Duration in_memory =
      Measure(*fixed, "default", linked->id, calls);
  const absl::Duration stored = Measure(manager, "tenant", linked->id, calls);
  std::printf(
      "account resolution per RPC (%d calls each)\n"
      "  static in-memory resolver        %7.2f us\n"
      "  SQLite store + sealed token      %7.2f us\n"
      "  added per RPC                    %7.2f us\n",
      calls, absl::ToDoubleMicroseconds(in_memory),
      absl::ToDoubleMicroseconds(stored),
      absl::ToDoubleMicroseconds(stored - in_memory));
  bench::Report(bench::Versus("account resolution per RPC, SQLite store",
                              absl::ToDoubleMicroseconds(stored), "us",
                              absl::ToDoubleMicroseconds(in_memory),
                              "static in-memory resolver"));
  return 0;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unified::Run();
}
