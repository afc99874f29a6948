// Route labels come only from declared templates: ids fill "{id}", an API
// base's own path is skipped, and any other path (a proxied call anywhere)
// is "proxy", so no caller text becomes a metrics label.
#include <string>
#include <vector>

#include "connectors/common/upstream_observer.h"
#include "gtest/gtest.h"

namespace unified {
namespace {

TEST(RouteTableTest, LabelsAreTemplatesOrProxy) {
  const RouteTable routes({"/org/", "/org/{id}", "/org/{id}/member/",
                           "/org/{id}/member/{id}", "/Users", "/Users/{id}"});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"https://api.podio.com/org/", "/org/"},
      {"https://api.podio.com/org/17", "/org/{id}"},
      {"https://api.podio.com/org/17/member/?limit=500&offset=0",
       "/org/{id}/member/"},
      {"https://api.podio.com/org/17/member/42", "/org/{id}/member/{id}"},
      // A SCIM base with a path of its own, and ids that are not digits.
      {"https://idp.example/scim/v2/Users?count=0", "/Users"},
      {"https://idp.example/scim/v2/Users/2819c223-7f76-453a-919d-413861904646",
       "/Users/{id}"},
      // What a proxied call may send: none of it becomes a label.
      {"https://api.podio.com/user/profile/bob@example.com", "proxy"},
      {"https://api.podio.com/org/17/member/42/extra", "proxy"},
      {"https://api.podio.com/org//member/", "proxy"},  // An empty id.
      {"https://api.podio.com/", "proxy"},
      {"https://api.podio.com", "proxy"},
      {"", "proxy"},
      {"/org/1?x=/Users", "/org/{id}"},
      {"https://api.podio.com/org/1#/Users", "/org/{id}"},
      {"https://api.podio.com/" + std::string(5000, 'a'), "proxy"},
  };
  for (const auto& [url, want] : cases) {
    EXPECT_EQ(routes.Label(url), want) << url;
  }
}

TEST(RouteTableTest, AnEmptyTableLabelsEverythingProxy) {
  const RouteTable none({});
  EXPECT_EQ(none.Label("https://x/org/1"), kUnlistedRoute);
}

}  // namespace
}  // namespace unified
