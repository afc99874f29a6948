// The two credential store backends for parameterized tests: a SQLite file
// and a database on a PostgreSQL server this test binary starts itself.
#ifndef TESTS_SERVICE_ACCOUNTS_STORE_BACKENDS_H_
#define TESTS_SERVICE_ACCOUNTS_STORE_BACKENDS_H_

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "service/accounts/credential_store.h"
#include "tools/testing/postgres.h"
#include "tools/testing/service_files.h"

namespace unified::accounts {

// Started on first use; stopped and removed when the test binary exits.
inline testing::TestPostgres* SharedPostgres() {
  static std::unique_ptr<testing::TestPostgres> pg = [] {
    auto started = testing::TestPostgres::Start();
    EXPECT_TRUE(started.ok()) << started.status();
    return started.ok() ? std::move(*started) : nullptr;
  }();
  return pg.get();
}

// A fresh, empty store URL of `backend` ("sqlite" or "postgresql").
inline std::string FreshStoreUrl(const std::string& backend) {
  static int counter = 0;
  ++counter;
  if (backend == "sqlite") {
    return absl::StrCat("sqlite:", testing::MakeTempDir("store"),
                        "/accounts.db");
  }
  testing::TestPostgres* pg = SharedPostgres();
  if (pg == nullptr) return "";
  auto url = pg->CreateDatabase(absl::StrCat("db", counter));
  EXPECT_TRUE(url.ok()) << url.status();
  return url.value_or("");
}

}  // namespace unified::accounts

#endif  // TESTS_SERVICE_ACCOUNTS_STORE_BACKENDS_H_
