"""Client-side balancing of the Python package over a cluster's replicas
(tools/cluster runs this with the cluster's variables set): calls spread
over every replica, a killed replica is left out, and health checking keeps
calls from replicas that say NOT_SERVING (the database stopped).

Signals to UNIFIED_FIXTURE_PID (tools/cluster): SIGUSR1 kills replica r0,
SIGUSR2 stops PostgreSQL or starts it again.
"""

import os
import signal
import sys
import unittest
import urllib.request

import grpc
from prometheus_client.parser import text_string_to_metric_families

from unified_directory import Client, UnifiedError, user_directory_pb2

REPLICAS = os.environ.get("UNIFIED_REPLICAS", "").split(",")
SIDES = os.environ.get("UNIFIED_REPLICAS_HTTP", "").split(",")
SERVING, NOT_SERVING = b"\x08\x01", b"\x08\x02"  # HealthCheckResponse.


def health_updates(address):
    """grpc.health.v1.Health/Watch of the overall status, raw: the serialized
    responses (the request, service "", serializes to no bytes)."""
    channel = grpc.insecure_channel(address)
    watch = channel.unary_stream("/grpc.health.v1.Health/Watch")
    return channel, watch(b"", timeout=60)


def wait_for_health(address, wanted):
    channel, updates = health_updates(address)
    try:
        for update in updates:
            if update == wanted:
                return
    finally:
        updates.cancel()
        channel.close()


def gets_served(side):
    """GetMe calls the replica finished, by its /metrics."""
    with urllib.request.urlopen("http://%s/metrics" % side, timeout=10) as r:
        text = r.read().decode()
    return sum(sample.value
               for family in text_string_to_metric_families(text)
               for sample in family.samples
               if sample.name == "unified_rpcs_total" and
               sample.labels.get("method") == "GetMe")


class BalancingTest(unittest.TestCase):

    def setUp(self):
        self.client = Client(REPLICAS, os.environ["UNIFIED_API_KEY"])
        self.request = user_directory_pb2.GetMeRequest(
            integrated_account_id=os.environ["UNIFIED_ACCOUNT"])

    def tearDown(self):
        self.client.close()

    def test_balancing(self):
        self.assertEqual(len(REPLICAS), 3)
        # Spread: each replica serves some of 30 calls.
        before = [gets_served(side) for side in SIDES]
        for _ in range(30):
            self.assertTrue(self.client.directory.GetMe(self.request).id)
        served = [gets_served(side) - b for side, b in zip(SIDES, before)]
        self.assertTrue(all(n > 0 for n in served), served)

        # r0 killed: its health watch ends; the calls go to the others.
        channel, updates = health_updates(REPLICAS[0])
        self.assertEqual(next(updates), SERVING)
        os.kill(int(os.environ["UNIFIED_FIXTURE_PID"]), signal.SIGUSR1)
        with self.assertRaises(grpc.RpcError):
            for _ in updates:
                pass
        channel.close()
        after = [gets_served(side) for side in SIDES[1:]]
        for _ in range(30):
            self.assertTrue(self.client.directory.GetMe(self.request).id)
        # The two left served them all (the last count may lag its answer).
        served = [gets_served(side) - a for side, a in zip(SIDES[1:], after)]
        self.assertTrue(all(n > 0 for n in served), served)
        self.assertGreaterEqual(sum(served), 29)

        # The database stopped: the live replicas say NOT_SERVING, and the
        # balanced client sends them nothing (UNAVAILABLE from gRPC itself,
        # no ErrorInfo), while a call to one replica directly gets its own
        # answer, STORE_UNAVAILABLE.
        os.kill(int(os.environ["UNIFIED_FIXTURE_PID"]), signal.SIGUSR2)
        for replica in REPLICAS[1:]:
            wait_for_health(replica, NOT_SERVING)
        with self.assertRaises(UnifiedError) as balanced:
            self.client.directory.GetMe(self.request, timeout=3)
        self.assertEqual(balanced.exception.code, grpc.StatusCode.UNAVAILABLE)
        self.assertIsNone(balanced.exception.reason)
        with Client(REPLICAS[1], os.environ["UNIFIED_API_KEY"]) as direct:
            with self.assertRaises(UnifiedError) as answered:
                direct.directory.GetMe(self.request, timeout=3)
        self.assertEqual(answered.exception.reason, "STORE_UNAVAILABLE")

        # Back: the replicas say SERVING and the client uses them again.
        os.kill(int(os.environ["UNIFIED_FIXTURE_PID"]), signal.SIGUSR2)
        for replica in REPLICAS[1:]:
            wait_for_health(replica, SERVING)
        self.assertTrue(self.client.directory.GetMe(self.request).id)

    def test_a_list_is_of_ip_addresses(self):
        with self.assertRaises(ValueError):
            Client(["localhost:1", "localhost:2"], "key")


if __name__ == "__main__":
    sys.exit(0 if unittest.main(exit=False).result.wasSuccessful() else 1)
