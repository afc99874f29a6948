"""A user's Python test, run by directory_fixture_test.

The fixture's simulator answers the first GET /user/status with Podio's
rate limit (420, the BUILD's faults): GetMe fails with RESOURCE_EXHAUSTED
and the reason UPSTREAM_RATE_LIMITED, then works once the wait is over.
"""

import os
import sys
import time
import unittest

import grpc

import unified_client
from proto.unified.v1 import user_directory_pb2


class DirectoryClientTest(unittest.TestCase):

    def setUp(self):
        self.client = unified_client.Client(os.environ["UNIFIED_ADDR"],
                                            os.environ["UNIFIED_API_KEY"])
        self.account = os.environ["UNIFIED_ACCOUNT"]

    def tearDown(self):
        self.client.close()

    def test_rate_limit_then_me(self):
        request = user_directory_pb2.GetMeRequest(
            integrated_account_id=self.account)
        with self.assertRaises(grpc.RpcError) as raised:
            self.client.call(self.client.directory.GetMe, request)
        details = unified_client.error_details(raised.exception)
        self.assertEqual(details["code"], "RESOURCE_EXHAUSTED")
        self.assertEqual(details["reason"], "UPSTREAM_RATE_LIMITED")
        self.assertGreater(details["retry_delay_seconds"], 0)
        time.sleep(details["retry_delay_seconds"])
        me = self.client.call(self.client.directory.GetMe, request)
        self.assertTrue(me.id)

    def test_users(self):
        ids = set()
        for page in self.client.stream(
                self.client.directory.StreamUsers,
                user_directory_pb2.ListUsersRequest(
                    integrated_account_id=self.account, limit=100)):
            ids.update(u.id for u in page.result)
        self.assertEqual(len(ids), 120)  # The BUILD asks for 120 users.


if __name__ == "__main__":
    sys.exit(0 if unittest.main(exit=False).result.wasSuccessful() else 1)
