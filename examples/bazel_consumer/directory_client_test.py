"""A user's Python test, run by directory_fixture_test.

The fixture's simulator answers the first GET /user/status with Podio's
rate limit (420, the BUILD's faults): the client's GetMe sees
RESOURCE_EXHAUSTED with the reason UPSTREAM_RATE_LIMITED, waits the
RetryInfo delay and succeeds on its second try.
"""

import os
import sys
import unittest

from unified_directory import user_directory_pb2
from unified_directory import Client


class DirectoryClientTest(unittest.TestCase):

    def setUp(self):
        self.client = Client(os.environ["UNIFIED_ADDR"],
                             os.environ["UNIFIED_API_KEY"])
        self.account = os.environ["UNIFIED_ACCOUNT"]

    def tearDown(self):
        self.client.close()

    def test_rate_limit_then_me(self):
        retries = []
        me = self.client.directory.GetMe(
            user_directory_pb2.GetMeRequest(integrated_account_id=self.account),
            timeout=30, on_retry=lambda error, wait: retries.append(error))
        self.assertTrue(me.id)
        self.assertEqual([(e.code.name, e.reason) for e in retries],
                         [("RESOURCE_EXHAUSTED", "UPSTREAM_RATE_LIMITED")])
        self.assertGreater(retries[0].retry_delay, 0)

    def test_users(self):
        ids = [user.id for user in self.client.records(
            "StreamUsers", user_directory_pb2.ListUsersRequest(
                integrated_account_id=self.account, limit=100))]
        self.assertEqual(len(ids), 120)  # The BUILD asks for 120 users.
        self.assertEqual(len(set(ids)), 120)


if __name__ == "__main__":
    sys.exit(0 if unittest.main(exit=False).result.wasSuccessful() else 1)
