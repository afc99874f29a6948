// Maintenance commands for operators, run next to live servers:
//
//   accounts_admin new-key KEY_ID      prints a key ring entry (32 random
//                                      bytes) to append to the key ring
//   accounts_admin new-api-key TENANT  prints a new API key, and the line
//                                      for --api_keys_file (its hash)
//   accounts_admin rewrap [--store=URL] [--encryption_keys_file=F]
//                                      re-encrypts every credential not
//                                      sealed with the newest key
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "service/accounts/account_manager.h"
#include "service/accounts/config.h"
#include "service/accounts/credential_store.h"
#include "service/accounts/sealer.h"
#include "service/core/tenants.h"

ABSL_FLAG(std::string, data_dir, "",
          "As the server's --data_dir (used when --store is empty).");
ABSL_FLAG(std::string, store, "", "As the server's --store.");
ABSL_FLAG(std::string, encryption_keys_file, "",
          "As the server's --encryption_keys_file (with the new key last).");

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: accounts_admin new-key KEY_ID | new-api-key TENANT | "
               "rewrap [--store=URL] [--encryption_keys_file=FILE]\n");
  return 2;
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "accounts_admin: %s\n",
               std::string(status.message()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Maintenance of the credential store.");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) return Usage();
  const std::string command = args[1];
  using namespace unified;  // NOLINT: a small tool.
  if (command == "new-key" && args.size() == 3) {
    std::printf("%s\n", accounts::NewKeyRingEntry(args[2]).c_str());
    return 0;
  }
  if (command == "new-api-key" && args.size() == 3) {
    NewApiKey key = GenerateApiKey(args[2]);
    std::printf("api key: %s\napi_keys_file line: %s\n", key.key.c_str(),
                key.line.c_str());
    return 0;
  }
  if (command == "rewrap" && args.size() == 2) {
    absl::StatusOr<accounts::Sealer> sealer =
        accounts::LoadSealer(absl::GetFlag(FLAGS_encryption_keys_file));
    if (!sealer.ok()) return Fail(sealer.status());
    std::string url = absl::GetFlag(FLAGS_store);
    if (url.empty()) {
      absl::StatusOr<std::string> dir =
          accounts::ResolveDataDir(absl::GetFlag(FLAGS_data_dir));
      if (!dir.ok()) return Fail(dir.status());
      url = accounts::ResolveStoreUrl("", *dir);
    }
    absl::StatusOr<std::unique_ptr<accounts::CredentialStore>> store =
        accounts::CredentialStore::OpenUrl(url);
    if (!store.ok()) return Fail(store.status());
    absl::StatusOr<int64_t> rewritten = accounts::Rewrap(**store, *sealer);
    if (!rewritten.ok()) return Fail(rewritten.status());
    std::printf("rewrapped %lld accounts with key %s\n",
                static_cast<long long>(*rewritten),
                sealer->newest_key_id().c_str());
    return 0;
  }
  return Usage();
}
