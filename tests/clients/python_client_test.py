"""The Python package (tools/clients/python/unified_directory) against the
real service and simulator, started by the fixture (tools/fixture): faults
are added through the simulator's admin URL, and the service is killed and
started again on the same port by SIGUSR1 to the fixture.

    python_client_test.py [TestCase]  (default: every case of this file)
"""

import asyncio
import json
import os
import signal
import sys
import unittest
import urllib.request

import grpc

from unified_directory import proxy_pb2, user_directory_pb2
from unified_directory import aio
from unified_directory import (NO_RETRY, Client, FailedPrecondition,
                               InvalidArgument, NotFound,
                               Pager, RateLimited, Retry, UnifiedError)

USERS = 5000  # The BUILD asks for 5,000 users.


def add_fault(rule):
    """Adds a simulator fault rule (tools/podio_sim faults JSON)."""
    request = urllib.request.Request(
        os.environ["UNIFIED_SIM_ADMIN_URL"] + "/faults",
        data=json.dumps(rule).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status // 100 == 2, answer.read()


class ClientTestCase(unittest.TestCase):

    def setUp(self):
        self.client = Client(os.environ["UNIFIED_ADDR"],
                             os.environ["UNIFIED_API_KEY"])
        self.account = os.environ["UNIFIED_ACCOUNT"]
        self.retries = []

    def tearDown(self):
        self.client.close()

    def on_retry(self, error, wait):
        self.retries.append((error, wait))

    def watch_service(self):
        """A watch held open on a channel of its own, for restart_service:
        it ends when the service dies."""
        watcher = Client(os.environ["UNIFIED_ADDR"],
                         os.environ["UNIFIED_API_KEY"])
        self.addCleanup(watcher.close)
        watch = watcher.directory.WatchDirectory.raw(
            user_directory_pb2.WatchDirectoryRequest(
                integrated_account_id=self.account, include_snapshot=True),
            timeout=120)
        next(watch)  # Open: the first snapshot event has come.
        return watch

    def restart_service(self, watch):
        """Has the fixture kill the service and start it again, and returns
        once the old process is gone: `watch` (watch_service) has ended."""
        os.kill(int(os.environ["UNIFIED_FIXTURE_PID"]), signal.SIGUSR1)
        with self.assertRaises(grpc.RpcError) as ended:
            for _ in watch:
                pass
        self.assertEqual(ended.exception.code(), grpc.StatusCode.UNAVAILABLE)

    def me(self, timeout):
        return self.client.directory.GetMe(
            user_directory_pb2.GetMeRequest(integrated_account_id=self.account),
            timeout=timeout, on_retry=self.on_retry)


class StreamTest(ClientTestCase):

    def test_every_user_once_across_a_restart(self):
        watch = self.watch_service()
        users = self.client.records(
            "StreamUsers", user_directory_pb2.ListUsersRequest(
                integrated_account_id=self.account, limit=100),
            timeout=120, on_retry=self.on_retry)
        ids = [next(users).id for _ in range(100)]
        # The rest of the listing (megabytes) cannot all be on its way:
        # flow control holds it at the server while nothing is read.
        self.restart_service(watch)
        ids.extend(user.id for user in users)
        self.assertEqual(len(ids), USERS)
        self.assertEqual(len(set(ids)), USERS)
        # The stream broke (the server gone, no answer) and was resumed.
        self.assertTrue(self.retries)
        self.assertTrue(all(error.unanswered for error, _ in self.retries),
                        [str(error) for error, _ in self.retries])

    def test_a_stream_error_that_retrying_cannot_cure(self):
        with self.assertRaises(UnifiedError) as raised:
            list(self.client.records(
                "StreamUsers", user_directory_pb2.ListUsersRequest(
                    integrated_account_id=self.account, cursor="forged"),
                on_retry=self.on_retry))
        self.assertEqual(raised.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(raised.exception.reason, "INVALID_CURSOR")
        self.assertEqual(self.retries, [])


class UnaryTest(ClientTestCase):

    def test_waits_out_retry_info(self):
        add_fault({"path": "/user/status", "kind": "rate_limit",
                   "wait_seconds": 1, "times": 1})
        me = self.me(timeout=30)
        self.assertTrue(me.id)
        self.assertEqual(len(self.retries), 1)
        error, wait = self.retries[0]
        self.assertEqual(error.code, grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(error.reason, "UPSTREAM_RATE_LIMITED")
        self.assertTrue(error.retryable)
        self.assertEqual(wait, error.retry_delay)
        self.assertGreater(wait, 0)

    def test_typed_error_is_not_retried(self):
        with self.assertRaises(UnifiedError) as raised:
            self.client.directory.ListUsers(
                user_directory_pb2.ListUsersRequest(
                    integrated_account_id=self.account, cursor="forged"),
                on_retry=self.on_retry)
        error = raised.exception
        self.assertEqual(error.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(error.reason, "INVALID_CURSOR")
        self.assertFalse(error.retryable)
        self.assertEqual(self.retries, [])


class EventsTest(ClientTestCase):
    """Run with Podio's hooks delivered to the service (the BUILD's flags)."""

    def set_role(self, event, role):
        """Changes the member's workspace role through the proxy, on a
        channel of its own that waits for the service to be up (a write is
        not retried: docs/clients.md)."""
        with Client(os.environ["UNIFIED_ADDR"],
                    os.environ["UNIFIED_API_KEY"]) as client:
            answer = client.proxy.Call.raw(proxy_pb2.ProxyRequest(
                integrated_account_id=self.account, method="PUT",
                path="/space/%s/member/%s" % (event.workspace.id,
                                              event.user.id),
                headers=[proxy_pb2.Header(name="Content-Type",
                                          value="application/json")],
                body=json.dumps({"role": role}).encode()),
                timeout=60, wait_for_ready=True)
        self.assertEqual(answer.status // 100, 2, answer.body)

    def test_no_event_lost_or_repeated_across_a_restart(self):
        events = self.client.events(
            user_directory_pb2.WatchDirectoryRequest(
                integrated_account_id=self.account, include_snapshot=True),
            timeout=120, on_retry=self.on_retry)
        event_type = user_directory_pb2.DirectoryEvent
        member = None
        for event in events:
            if (event.type == event_type.MEMBER_ADDED and
                    event.role_id == "workspace.regular" and member is None):
                member = event
            if event.type == event_type.SNAPSHOT_COMPLETE:
                position = event.sequence
                break
        self.assertIsNotNone(member)

        def next_change():
            return next(e for e in events if e.type != event_type.HEARTBEAT)

        self.set_role(member, "admin")
        first = next_change()
        self.restart_service(self.watch_service())
        # The next change comes from the new process, once, right after the
        # last one taken: the stream resumed from its resume token.
        self.set_role(member, "regular")
        second = next_change()
        self.assertEqual(
            [(e.type, e.user.id, e.workspace.id, e.role_id, e.sequence)
             for e in (first, second)],
            [(event_type.ROLE_CHANGED, member.user.id, member.workspace.id,
              "workspace.admin", position + 1),
             (event_type.ROLE_CHANGED, member.user.id, member.workspace.id,
              "workspace.regular", position + 2)])
        self.assertTrue(self.retries)
        self.assertTrue(all(error.unanswered for error, _ in self.retries),
                        [str(error) for error, _ in self.retries])


class DeadlineTest(ClientTestCase):
    """Alone in its fixture: Podio's long wait blocks the account after."""

    def test_a_wait_past_the_deadline_is_not_taken(self):
        add_fault({"path": "/user/status", "kind": "rate_limit",
                   "wait_seconds": 600, "times": 1})
        with self.assertRaises(UnifiedError) as raised:
            self.me(timeout=10)
        error = raised.exception
        self.assertEqual(error.code, grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertTrue(error.retryable)
        self.assertGreaterEqual(error.retry_delay, 590)
        self.assertEqual(self.retries, [])


class IdiomsTest(ClientTestCase):
    """The idiomatic surface: pagers, keyword filters, read masks as field
    lists, errors by class, configurable retries."""

    def test_a_pager_iterates_every_user_across_pages(self):
        pager = self.client.list_users(self.account, page_size=500,
                                       fields=["id", "name"])
        self.assertIsInstance(pager, Pager)
        pages = list(pager.pages)
        # Ten full pages, and perhaps an empty one where the listing learns
        # its end (answers carry no counts).
        self.assertIn(len(pages), (USERS // 500, USERS // 500 + 1))
        self.assertTrue(all(p.next_cursor for p in pages[:-1]))
        self.assertFalse(pages[-1].next_cursor)
        ids = [user.id for user in pager]  # Iterated again, from the start.
        self.assertEqual(ids, [u.id for p in pages for u in p.result])
        self.assertEqual(len(set(ids)), USERS)
        # The read mask kept the id and name only.
        self.assertTrue(all(p.result[0].name and not p.result[0].emails
                            for p in pages if p.result))
        # The streamed listing is the same users in the same order.
        self.assertEqual(
            [user.id for user in self.client.stream_users(
                self.account, page_size=500, fields=["id"])], ids)

    def test_positional_fields_are_checked(self):
        with self.assertRaises(TypeError):
            self.client.get_user(self.account)  # No user id.

    def test_keyword_filters_are_the_requests_fields(self):
        anns = list(self.client.list_users(self.account, query="ann",
                                           fields=["id", "name"]))
        self.assertTrue(anns)
        self.assertTrue(all("ann" in u.name.lower() for u in anns))
        with self.assertRaises(TypeError):
            self.client.list_users(self.account, no_such_filter="x")
        me = self.client.get_me(self.account, fields=["id"])
        self.assertTrue(me.id)
        self.assertFalse(me.name)
        self.assertEqual(self.client.get_user(self.account, me.id).id, me.id)

    def test_errors_are_classes_with_their_request_id(self):
        with self.assertRaises(NotFound) as missing:
            self.client.get_user(self.account, "123", request_id="py-test-1",
                                 metadata={"x-caller": "idioms"})
        self.assertIsInstance(missing.exception, UnifiedError)
        self.assertEqual(missing.exception.code, grpc.StatusCode.NOT_FOUND)
        # The request id sent is the one the server logged and sends back.
        self.assertEqual(missing.exception.request_id, "py-test-1")
        with self.assertRaises(InvalidArgument) as forged:
            list(self.client.list_users(self.account, cursor="forged"))
        self.assertEqual(forged.exception.reason, "INVALID_CURSOR")
        self.assertTrue(forged.exception.request_id)
        self.assertNotEqual(forged.exception.request_id,
                            missing.exception.request_id)

    def test_retries_are_configurable(self):
        add_fault({"path": "/user/status", "kind": "rate_limit",
                   "wait_seconds": 1, "times": 1})
        with Client(os.environ["UNIFIED_ADDR"], os.environ["UNIFIED_API_KEY"],
                    retry=NO_RETRY) as once:
            with self.assertRaises(RateLimited) as limited:
                once.get_me(self.account)
        self.assertEqual(limited.exception.reason, "UPSTREAM_RATE_LIMITED")
        self.assertGreater(limited.exception.retry_after, 0)
        # The default tries again after the wait the server named.
        add_fault({"path": "/user/status", "kind": "rate_limit",
                   "wait_seconds": 1, "times": 1})
        self.assertTrue(self.client.get_me(self.account).id)
        with self.assertRaises(ValueError):
            Retry(attempts=0)

    def test_link_sessions_for_a_customer(self):
        session = self.client.create_link_session(
            "cust-py", "https://app.example/done", display_name="App",
            state="s-1", ttl_seconds=120)
        self.assertIn("/link?link_token=lt_", session.url)
        self.assertTrue(session.link_token.startswith("lt_"))
        with self.assertRaises(InvalidArgument) as refused:
            self.client.create_link_session("cust-py", "http://app.example/")
        self.assertEqual(refused.exception.reason, "INVALID_RETURN_URL")

        async def body(client, unused_account):
            again = await client.create_link_session(
                "cust-py", "https://app.example/done")
            self.assertNotEqual(again.link_token, session.link_token)
        AioTest.run_async(self, body)

    def test_watching_is_paused_and_resumed(self):
        status_type = user_directory_pb2.WatchStatus
        paused = self.client.set_watching(self.account, False)
        self.assertEqual(paused.state, status_type.PAUSED)
        self.assertEqual(self.client.get_watch_status(self.account).state,
                         status_type.PAUSED)
        with self.assertRaises(FailedPrecondition) as refused:
            next(iter(self.client.watch(self.account)))
        self.assertEqual(refused.exception.reason, "WATCH_PAUSED")

        async def body(client, account):
            resumed = await client.set_watching(account, True)
            self.assertEqual(resumed.state, status_type.WATCHING)
        AioTest.run_async(self, body)
        self.assertEqual(self.client.get_watch_status(self.account).state,
                         status_type.WATCHING)

    def test_watch_runs_until_the_caller_stops(self):
        events = self.client.watch(self.account, include_snapshot=True)
        event_type = user_directory_pb2.DirectoryEvent
        for event in events:
            if event.type == event_type.SNAPSHOT_COMPLETE:
                break
        events.close()  # Stops the stream; nothing ran out.


class AioTest(unittest.TestCase):
    """The asyncio client (unified_directory.aio): the same calls, awaited."""

    def run_async(self, body):
        async def with_client():
            async with aio.Client(os.environ["UNIFIED_ADDR"],
                                  os.environ["UNIFIED_API_KEY"]) as client:
                await body(client, os.environ["UNIFIED_ACCOUNT"])
        asyncio.run(with_client())

    def test_pages_streams_errors_and_watch(self):
        async def body(client, account):
            pager = client.list_users(account, page_size=500, fields=["id"])
            ids = [user.id async for user in pager]
            self.assertEqual(len(set(ids)), USERS)
            pages = [page async for page in pager.pages]
            self.assertEqual(ids, [u.id for p in pages for u in p.result])
            streamed = [u.id async for u in client.stream_users(
                account, page_size=500, fields=["id"])]
            self.assertEqual(streamed, ids)
            me = await client.get_me(account, fields=["id", "name"])
            self.assertTrue(me.name)
            with self.assertRaises(NotFound) as missing:
                await client.get_user(account, "123", request_id="aio-1")
            self.assertEqual(missing.exception.request_id, "aio-1")
            async for event in client.watch(account, include_snapshot=True):
                if (event.type ==
                        user_directory_pb2.DirectoryEvent.SNAPSHOT_COMPLETE):
                    break
        self.run_async(body)

    def test_retries_after_the_servers_wait(self):
        add_fault({"path": "/user/status", "kind": "rate_limit",
                   "wait_seconds": 1, "times": 1})
        retries = []

        async def body(client, account):
            me = await client.get_me(account,
                                     on_retry=lambda e, w: retries.append(e))
            self.assertTrue(me.id)
        self.run_async(body)
        self.assertEqual(len(retries), 1)
        self.assertIsInstance(retries[0], RateLimited)


class PlaintextTest(unittest.TestCase):

    def test_plaintext_only_to_loopback(self):
        with self.assertRaises(ValueError):
            Client("192.0.2.1:443", "key")


if __name__ == "__main__":
    loader = unittest.defaultTestLoader
    module = sys.modules[__name__]
    if len(sys.argv) > 1:
        suite = unittest.TestSuite(
            loader.loadTestsFromName(name, module) for name in sys.argv[1:])
    else:
        suite = unittest.TestSuite(
            loader.loadTestsFromTestCase(case)
            for case in (StreamTest, UnaryTest, IdiomsTest, AioTest,
                         PlaintextTest))
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)
