"""The Python package across a graceful restart under load: threads call
GetMe and ListUsers and stream every user while SIGUSR2 has the fixture
stop the service (SIGTERM: not ready, drain, grace, exit) and start it
again on the same port, and a watch stays open. No call fails; calls
succeed before, during the drain and after; some were retried across the
gap (so the restart was crossed, not missed), and the watch was ended with
SERVER_SHUTTING_DOWN and resumed.
"""

import os
import signal
import threading
import time
import unittest

import grpc

from unified_directory import Client, user_directory_pb2

# grpc.health.v1 HealthCheckRequest{service: "readiness"}, serialized, and
# the SERVING / NOT_SERVING responses.
READINESS = b"\x0a\x09readiness"
SERVING, NOT_SERVING = b"\x08\x01", b"\x08\x02"


class Load:
    """Calls on threads until stopped; each success's time, each failure."""

    def __init__(self, client, account, total):
        self.client = client
        self.account = account
        self.total = total
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.successes = []
        self.failures = []
        self.retries = []  # The reasons of the errors retried.
        # Paced: the account's Podio budget (1,000 calls an hour) must last
        # the test; the load is about concurrency across the restart.
        self.threads = [threading.Thread(target=self.unary) for _ in range(2)]
        self.threads.append(threading.Thread(target=self.stream))
        # A watch held across the restart; it only ends with the test
        # (daemon: it waits for events), or by failing.
        self.watcher = threading.Thread(target=self.watch, daemon=True)

    def on_retry(self, error, wait):
        with self.lock:
            self.retries.append(error.reason)

    def record(self, failure=None):
        with self.lock:
            if failure is None:
                self.successes.append(time.monotonic())
            else:
                self.failures.append(failure)

    def unary(self):
        me = user_directory_pb2.GetMeRequest(integrated_account_id=self.account)
        users = user_directory_pb2.ListUsersRequest(
            integrated_account_id=self.account, limit=50)
        while not self.stop.is_set():
            try:
                self.client.directory.GetMe(me, timeout=60,
                                            on_retry=self.on_retry)
                self.client.directory.ListUsers(users, timeout=60,
                                                on_retry=self.on_retry)
                self.record()
            except Exception as error:  # Any failure is the test's.
                self.record(repr(error))
            self.stop.wait(0.2)

    def stream(self):
        request = user_directory_pb2.ListUsersRequest(
            integrated_account_id=self.account, limit=100)
        while not self.stop.is_set():
            try:
                ids = [u.id for u in self.client.records(
                    "StreamUsers", request, timeout=120,
                    on_retry=self.on_retry)]
                if len(ids) != self.total or len(set(ids)) != self.total:
                    self.record("a stream gave %d users (%d distinct), not %d"
                                % (len(ids), len(set(ids)), self.total))
                else:
                    self.record()
            except Exception as error:
                self.record(repr(error))
            self.stop.wait(0.5)

    def watch(self):
        request = user_directory_pb2.WatchDirectoryRequest(
            integrated_account_id=self.account)
        try:
            for _ in self.client.events(request, timeout=300,
                                        on_retry=self.on_retry):
                pass
            self.record("the watch ended")
        except Exception as error:
            if not self.stop.is_set():
                self.record(repr(error))

    def count_after(self, t):
        with self.lock:
            return sum(1 for s in self.successes if s >= t)

    def wait_for_successes_after(self, t, n, timeout=120):
        end = time.monotonic() + timeout
        while self.count_after(t) < n and time.monotonic() < end:
            time.sleep(0.05)
        return self.count_after(t) >= n


class RestartUnderLoadTest(unittest.TestCase):

    def test_no_call_fails_across_a_graceful_restart(self):
        address = os.environ["UNIFIED_ADDR"]
        account = os.environ["UNIFIED_ACCOUNT"]
        client = Client(address, os.environ["UNIFIED_API_KEY"])
        self.addCleanup(client.close)
        total = len(list(client.records(
            "StreamUsers", user_directory_pb2.ListUsersRequest(
                integrated_account_id=account, limit=100), timeout=120)))
        self.assertGreater(total, 100)  # Streams of several pages.
        load = Load(client, account, total)
        for t in load.threads:
            t.start()
        load.watcher.start()
        try:
            self.assertTrue(load.wait_for_successes_after(0, 5))
            # Readiness, watched on a channel of its own: NOT_SERVING when
            # the drain starts; the watch breaks when the process is gone.
            channel = grpc.insecure_channel(address)
            self.addCleanup(channel.close)
            updates = channel.unary_stream("/grpc.health.v1.Health/Watch")(
                READINESS, timeout=120)
            self.assertEqual(next(updates), SERVING)
            os.kill(int(os.environ["UNIFIED_FIXTURE_PID"]), signal.SIGUSR2)
            self.assertEqual(next(updates), NOT_SERVING)
            draining = time.monotonic()
            with self.assertRaises(grpc.RpcError):
                for _ in updates:
                    pass
            gone = time.monotonic()
            # Back: a new process answers SERVING.
            back_channel = grpc.insecure_channel(address)
            self.addCleanup(back_channel.close)
            check = back_channel.unary_unary("/grpc.health.v1.Health/Check")
            while check(READINESS, timeout=60, wait_for_ready=True) != SERVING:
                time.sleep(0.05)
            back = time.monotonic()
            self.assertTrue(load.wait_for_successes_after(back, 5),
                            "no call served after the restart; failures: %s"
                            % load.failures[:5])
        finally:
            load.stop.set()
            for t in load.threads:
                t.join()
        self.assertEqual(load.failures, [])
        with load.lock:
            during_drain = [s for s in load.successes if draining <= s < gone]
        self.assertTrue(during_drain, "no call was served during the drain")
        # Calls crossed the restart: retried once the server was gone, and
        # the watch was ended by the stop with its reason (not gRPC's bare
        # CANCELLED, which no client retries) and resumed.
        self.assertIn(None, load.retries)
        self.assertIn("SERVER_SHUTTING_DOWN", load.retries)


if __name__ == "__main__":
    unittest.main()
