"""The asyncio client, on grpc.aio: the same calls as Client, awaited.

    from unified_directory.aio import Client

    async with Client("127.0.0.1:50051", api_key) as client:
        me = await client.get_me(account, fields=["id", "name"])
        async for user in client.list_users(account, query="ann"):
            ...
        async for event in client.watch(account, include_snapshot=True):
            ...

Retries, resumed streams and errors are as the sync Client's
(docs/clients.md).
"""

import asyncio
import time

from grpc import aio

from unified_directory._gen.proto.unified.v1 import (
    integrated_accounts_pb2_grpc, proxy_pb2_grpc, user_directory_pb2_grpc)
from unified_directory.calls import (CALLS, after_event, bind, call_metadata,
                                     copy_message, describe,
                                     link_session_request, next_page,
                                     watch_request)
from unified_directory.client import Retry, channel_parts, wait_before_retry
from unified_directory.errors import UnifiedError


class AsyncPager:
    """A List* call's records across every page (`async for`); `pages`
    iterates the answers. Each page is one call, with retries."""

    def __init__(self, fetch, request):
        self._fetch = fetch
        self._request = copy_message(request)

    @property
    async def pages(self):
        request = copy_message(self._request)
        while True:
            page = await self._fetch(request)
            yield page
            if not next_page(request, page):
                return

    async def _records(self):
        async for page in self.pages:
            for record in page.result:
                yield record

    def __aiter__(self):
        return self._records()


class Client:
    """The services over one grpc.aio channel (arguments as the sync
    Client's). The stubs are `directory`, `accounts` and `proxy`."""

    def __init__(self, address, api_key, ca_file=None, cert_file=None,
                 key_file=None, server_name=None, timeout=30.0,
                 balance=None, retry=None):
        target, credentials, options = channel_parts(
            address, api_key, ca_file, cert_file, key_file, server_name,
            balance)
        self.channel = aio.secure_channel(target, credentials, options)
        self.timeout = timeout
        self.retry = retry or Retry()
        self.directory = user_directory_pb2_grpc.UserDirectoryStub(
            self.channel)
        self.accounts = integrated_accounts_pb2_grpc.IntegratedAccountsStub(
            self.channel)
        self.proxy = proxy_pb2_grpc.ProxyStub(self.channel)

    async def close(self):
        await self.channel.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *unused):
        await self.close()

    async def call(self, name, request, timeout=None, on_retry=None,
                   request_id=None, metadata=None, stub=None):
        """The unary `name` of `stub` (UserDirectory's by default) with
        retries, as the sync client's."""
        method = getattr(stub or self.directory, name)
        deadline = time.monotonic() + (timeout or self.timeout)
        pairs = call_metadata(request_id, metadata)
        tries = 0
        while True:
            try:
                return await method(
                    request, timeout=max(0.0, deadline - time.monotonic()),
                    metadata=pairs)
            except aio.AioRpcError as raw:
                error = UnifiedError.from_rpc_error(raw)
                await self._pause(error, wait_before_retry(
                    self.retry, name, error, tries, deadline), on_retry)
                tries += 1

    @staticmethod
    async def _pause(error, wait, on_retry):
        if wait is None:
            raise error from None
        if on_retry:
            on_retry(error, wait)
        await asyncio.sleep(wait)

    async def _resumed(self, name, request, advance, timeout, on_retry,
                       request_id=None, metadata=None):
        method = getattr(self.directory, name)
        deadline = None if timeout is None else time.monotonic() + timeout
        tries = 0
        while True:
            call = method(request, timeout=None if deadline is None else max(
                0.0, deadline - time.monotonic()),
                metadata=call_metadata(request_id, metadata))
            try:
                async for message in call:
                    tries = 0
                    yield message
                    if not advance(request, message):
                        return
                return
            except aio.AioRpcError as raw:
                error = UnifiedError.from_rpc_error(raw)
                stalled = error.reason == "STREAM_STALLED"
                await self._pause(error, 0.0 if stalled else wait_before_retry(
                    self.retry, name, error, tries, deadline), on_retry)
                tries += 1
            finally:
                call.cancel()

    async def records(self, name, request, timeout=300.0, on_retry=None,
                      request_id=None, metadata=None):
        """Each record of a Stream* listing once, resumed after failures."""
        request = copy_message(request)

        async for page in self._resumed(name, request, next_page, timeout,
                                        on_retry, request_id, metadata):
            for record in page.result:
                yield record

    def events(self, request, timeout=None, on_retry=None, request_id=None,
               metadata=None):
        """WatchDirectory's events, resumed from the last resume_token; runs
        until the caller stops (or `timeout`)."""
        request = copy_message(request)

        return self._resumed("WatchDirectory", request, after_event, timeout,
                             on_retry, request_id, metadata)

    async def create_link_session(self, end_customer_id, return_url,
                                  display_name="", providers=(),
                                  integrated_account_id="", state="",
                                  ttl_seconds=0, timeout=None, on_retry=None,
                                  request_id=None, metadata=None):
        """As the sync client's: a link session for one of your customers
        (docs/linking.md)."""
        return await self.call(
            "CreateLinkSession",
            link_session_request(end_customer_id, return_url, display_name,
                                 providers, integrated_account_id, state,
                                 ttl_seconds),
            timeout, on_retry, request_id, metadata, stub=self.accounts)

    def watch(self, account_id=None, account_ids=None, all_accounts=False,
              include_snapshot=False, resume_token="", timeout=None,
              on_retry=None, request_id=None, metadata=None):
        """WatchDirectory's events for one account, several or all."""
        return self.events(
            watch_request(account_id, account_ids, all_accounts,
                          include_snapshot, resume_token),
            timeout, on_retry, request_id=request_id, metadata=metadata)


def _idiomatic(name, method, request_type, kind, positional):
    """The aio Client method `name` of the CALLS table (calls.py)."""

    def call(self, account_id, *args, fields=None, page_size=None,
             timeout=None, on_retry=None, request_id=None, metadata=None,
             **values):
        request = bind(name, request_type, positional, account_id, args,
                       fields, page_size, values)
        options = dict(on_retry=on_retry, request_id=request_id,
                       metadata=metadata)
        if kind == "unary":
            return self.call(method, request, timeout, **options)
        if kind == "list":
            return AsyncPager(
                lambda page: self.call(method, page, timeout, **options),
                request)
        return self.records(method, request, timeout or 300.0, **options)

    return describe(call, name, method, kind, "an AsyncPager")


for _entry in CALLS:
    setattr(Client, _entry[0], _idiomatic(*_entry))
