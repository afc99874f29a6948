// The special-purpose address table of service/webhooks/webhook_url.cc, a
// test row per range: an address inside is internal (and loopback where it
// is), and the address just past the range is not.
#include "service/webhooks/webhook_url.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace unified::webhooks {
namespace {

struct Row {
  const char* inside;
  bool loopback;
  const char* outside;  // Just past the range: a public address.
};

class SpecialRangeTest : public ::testing::TestWithParam<Row> {};

TEST_P(SpecialRangeTest, InsideIsInternalAndJustPastIsNot) {
  const Row& row = GetParam();
  bool loopback = !row.loopback;
  EXPECT_TRUE(IsInternalAddress(row.inside, &loopback)) << row.inside;
  EXPECT_EQ(loopback, row.loopback) << row.inside;
  EXPECT_FALSE(IsInternalAddress(row.outside, &loopback)) << row.outside;
  EXPECT_FALSE(loopback) << row.outside;
}

INSTANTIATE_TEST_SUITE_P(
    Ipv4, SpecialRangeTest,
    ::testing::Values(Row{"0.255.255.255", false, "1.0.0.0"},
                      Row{"10.1.2.3", false, "11.0.0.0"},
                      Row{"100.127.255.255", false, "100.128.0.0"},
                      Row{"127.0.0.1", true, "128.0.0.0"},
                      Row{"169.254.169.254", false, "169.255.0.0"},
                      Row{"172.31.255.255", false, "172.32.0.0"},
                      Row{"192.0.0.8", false, "192.0.1.0"},
                      Row{"192.0.2.1", false, "192.0.3.0"},
                      Row{"192.88.99.1", false, "192.88.100.0"},
                      Row{"192.168.0.1", false, "192.169.0.0"},
                      Row{"198.19.255.255", false, "198.20.0.0"},
                      Row{"198.51.100.7", false, "198.51.101.0"},
                      Row{"203.0.113.9", false, "203.0.114.0"},
                      Row{"224.0.0.1", false, "223.255.255.255"},
                      Row{"255.255.255.255", false, "8.8.8.8"}));

INSTANTIATE_TEST_SUITE_P(
    Ipv6, SpecialRangeTest,
    ::testing::Values(
        Row{"::", false, "2606:4700::1"}, Row{"::1", true, "2606:4700::1"},
        // IPv4-mapped, NAT64 and 6to4 are judged by the IPv4 they carry.
        Row{"::ffff:127.0.0.1", true, "::ffff:8.8.8.8"},
        Row{"::ffff:10.0.0.1", false, "::ffff:1.1.1.1"},
        Row{"::127.0.0.1", false, "::1:0:0:1"},
        Row{"64:ff9b::7f00:1", true, "64:ff9b::808:808"},
        Row{"64:ff9b::a00:1", false, "64:ff9b::101:101"},
        Row{"64:ff9b:1::1", false, "64:ff9c::1"},
        Row{"100::1", false, "100:0:0:1::1"},
        Row{"2001:0:4136:e378::1", false, "2001:200::1"},
        Row{"2001:db8::1", false, "2001:db9::1"},
        Row{"2002:7f00:1::", true, "2002:808:808::"},
        Row{"2002:c0a8:101::", false, "2002:101:101::"},
        Row{"3fff:fff::1", false, "3fff:1000::1"},
        Row{"5f00::1", false, "5f01::1"}, Row{"fd12:3456::1", false, "fe00::1"},
        Row{"fe80::1", false, "fe7f::1"},
        Row{"fec0::1", false, "fe00::1"},
        Row{"ff02::1", false, "fe00::1"}));

TEST(SpecialRangeTest, WhatIsNoAddressIsNotInternal) {
  bool loopback = true;
  EXPECT_FALSE(IsInternalAddress("not an address", &loopback));
  EXPECT_FALSE(loopback);
}

TEST(WebhookUrlTest, RefusesSpacesControlsAndNonAscii) {
  for (const char* url :
       {"https://example.com/a\r\nX-Injected: 1", "https://example.com/a b",
        "https://example.com/\t", "https://exa\xc3\xa9mple.com/",
        "https://example.com/\x7f"}) {
    EXPECT_FALSE(ParseWebhookUrl(url).ok()) << url;
  }
  EXPECT_TRUE(ParseWebhookUrl("https://example.com:8443/hooks?x=1").ok());
  // The scheme in any case; the rest as given.
  absl::StatusOr<ParsedUrl> upper = ParseWebhookUrl("HTTPS://Example.com/A");
  ASSERT_TRUE(upper.ok()) << upper.status();
  EXPECT_TRUE(upper->https);
  EXPECT_EQ(upper->host, "Example.com");
  EXPECT_FALSE(ParseWebhookUrl("https://user@example.com/").ok());
}

}  // namespace
}  // namespace unified::webhooks
