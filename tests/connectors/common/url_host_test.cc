#include "connectors/common/url_host.h"

#include "connectors/plugin.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace unified {
namespace {

TEST(UrlHostTest, LoopbackIsAnAddressNeverAPrefix) {
  for (const char* host : {"localhost", "127.0.0.1", "127.1.2.3", "::1"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"127.attacker.example", "127.0.0.1.example",
                           "128.0.0.1", "::2", "0.0.0.0", "", "localhost."}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
  EXPECT_EQ(ListenHost("127.attacker.example:50051"), "127.attacker.example");
  EXPECT_EQ(ListenHost("[::1]:50051"), "::1");
  EXPECT_EQ(ListenHost("nonsense"), "");
}

TEST(UrlHostTest, ParsesHostAndPortAndRefusesUserInformation) {
  absl::StatusOr<HttpUrl> url = ParseHttpUrl("https://api.podio.com:8443/x");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_TRUE(url->https);
  EXPECT_EQ(url->host, "api.podio.com");
  EXPECT_EQ(url->port, 8443);
  url = ParseHttpUrl("http://[::1]/v2");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "::1");
  for (const char* bad :
       {"http://127.0.0.1:1@otherhost/", "http://user@127.0.0.1/",
        "ftp://127.0.0.1/", "http://127.0.0.1:99999/", "http:///x",
        "http://127.0.0.1/\r\nHost: other", "http://[::1/"}) {
    EXPECT_FALSE(ParseHttpUrl(bad).ok()) << bad;
  }
}

TEST(UrlHostTest, ApiBasesTakePlainHttpOnlyToALoopbackAddress) {
  EXPECT_TRUE(CheckApiBase("--podio_api_base", "https://api.podio.com").ok());
  EXPECT_TRUE(CheckApiBase("--podio_api_base", "http://127.0.0.1:8080").ok());
  EXPECT_TRUE(CheckApiBase("--scim_base_url", "http://localhost/scim/v2").ok());
  for (const char* bad :
       {"http://127.0.0.1:1@otherhost/", "http://127.attacker.example/",
        "http://example.com/", "http://localhost.example.com/"}) {
    EXPECT_FALSE(CheckApiBase("--scim_base_url", bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace unified
