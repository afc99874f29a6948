"""The client: channels, retries, resuming streams and typed errors."""

import ipaddress
import json
import time

import grpc

from unified_directory._gen.proto.unified.v1 import (
    integrated_accounts_pb2_grpc, proxy_pb2_grpc, user_directory_pb2_grpc)
from unified_directory.calls import (CALLS, after_event, bind, call_metadata,
                                     copy_message, describe,
                                     link_session_request, next_page,
                                     watch_request)
from unified_directory.errors import RETRY_REASONS, UnifiedError
from unified_directory.pagers import Pager

# Methods that read only: a transport failure (no answer from the server at
# all) is retried for them, since sending them twice changes nothing.
_READ_PREFIXES = ("Get", "List", "BatchGet", "Stream", "Watch")



class Retry:
    """When and how often calls are tried again (Client(retry=...)).

    `attempts`: tries of one call at the most, the first included (None:
    as many as its deadline allows). `initial_backoff` and `max_backoff`:
    the wait, in seconds, before a try when the server named none (it was
    not reached), doubling from the first to the last. `reasons`: the
    ErrorInfo reasons worth another try (default RETRY_REASONS); the
    server's RetryInfo says how long to wait for those. A read whose call
    the service never answered (the transport failed) is tried again too.
    """

    def __init__(self, attempts=None, initial_backoff=0.05, max_backoff=1.0,
                 reasons=RETRY_REASONS):
        if attempts is not None and attempts < 1:
            raise ValueError("attempts must be at least 1 (or None)")
        if initial_backoff < 0 or max_backoff < initial_backoff:
            raise ValueError("0 <= initial_backoff <= max_backoff")
        self.attempts = attempts
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.reasons = frozenset(reasons)

    def backoff(self, tries):
        return min(self.max_backoff, self.initial_backoff * 2 ** tries)


NO_RETRY = Retry(attempts=1)


def _host(address):
    """The host of "host:port", "[v6]:port" or "dns:///host:port"."""
    if address.startswith("dns:"):
        address = address.split("/")[-1]
    return address.rsplit(":", 1)[0].strip("[]")


def _is_loopback(address):
    host = _host(address)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Client-side balancing (docs/clients.md): a call to each ready replica in
# turn, and gRPC's health checking, which leaves out a replica whose
# grpc.health.v1 status is not SERVING.
BALANCED_SERVICE_CONFIG = json.dumps({
    "loadBalancingConfig": [{"round_robin": {}}],
    "healthCheckConfig": {"serviceName": ""},
})


def _target(address):
    """The gRPC target of `address`: as it is when a string; for a list of
    "ip:port", one ipv4: or ipv6: target listing them all."""
    if isinstance(address, str):
        return address
    addresses = list(address)
    if not addresses:
        raise ValueError("no address to balance over")
    versions = set()
    for one in addresses:
        try:
            versions.add(ipaddress.ip_address(_host(one)).version)
        except ValueError:
            raise ValueError("a list of replicas is of IP addresses; for a "
                             "name use dns:///NAME:PORT") from None
    if len(versions) != 1:
        raise ValueError("a list of replicas is of one IP version")
    return "ipv%d:%s" % (versions.pop(), ",".join(addresses))


class _Service:
    """A service's methods with retries: client.directory.GetMe(request)."""

    def __init__(self, client, stub):
        self._client = client
        self._stub = stub

    def __getattr__(self, name):
        method = getattr(self._stub, name)
        client = self._client

        def call(request, timeout=None, on_retry=None, request_id=None,
                 metadata=None):
            return client._unary(name, method, request, timeout, on_retry,
                                 request_id=request_id, metadata=metadata)

        call.raw = method  # The stub's own callable, without retries.
        return call
def wait_before_retry(retry, name, error, tries, deadline):
    """Seconds to wait before another try of `name` after `tries`
    failed ones, or None: give up."""
    if retry.attempts is not None and tries + 1 >= retry.attempts:
        return None
    if error.reason in retry.reasons:
        wait = error.retry_delay
        if wait is None:
            wait = retry.backoff(tries)
    elif error.unanswered and name.startswith(_READ_PREFIXES):
        wait = retry.backoff(tries)
    else:
        return None
    # Only when the try after the wait can still finish in time.
    if deadline is not None and time.monotonic() + wait >= deadline:
        return None
    return wait


def channel_parts(address, api_key, ca_file=None, cert_file=None,
                  key_file=None, server_name=None, balance=None):
    """The target, credentials and options of a channel to `address` (as
    Client documents them), for grpc and grpc.aio alike."""
    addresses = [address] if isinstance(address, str) else list(address)
    if balance is None:
        balance = not isinstance(address, str)
    target = _target(address)
    # Reconnect fast when a server comes back (streams resume on it).
    options = [("grpc.initial_reconnect_backoff_ms", 100),
               ("grpc.min_reconnect_backoff_ms", 100),
               ("grpc.max_reconnect_backoff_ms", 1000)]
    if balance:
        options.append(("grpc.service_config", BALANCED_SERVICE_CONFIG))
    key = grpc.access_token_call_credentials(api_key)
    if ca_file:
        def read(path):
            with open(path, "rb") as f:
                return f.read()
        channel_credentials = grpc.ssl_channel_credentials(
            root_certificates=read(ca_file),
            private_key=read(key_file) if key_file else None,
            certificate_chain=read(cert_file) if cert_file else None)
        if server_name:
            options.append(("grpc.ssl_target_name_override", server_name))
    elif all(_is_loopback(one) for one in addresses):
        channel_credentials = grpc.local_channel_credentials(
            grpc.LocalConnectionType.LOCAL_TCP)
    else:
        raise ValueError("a plaintext channel only to loopback; give "
                         "ca_file for %s" % target)
    # The API key as call credentials: "authorization: Bearer KEY".
    return (target,
            grpc.composite_channel_credentials(channel_credentials, key),
            options)


class Client:
    """The three services over one channel, the API key on every call.

    `address` is "host:port", any gRPC target ("dns:///name:port"), or a
    list of replicas' "ip:port". With a list, or with `balance`, calls are
    balanced over the replicas round-robin, with gRPC's health checking
    (a replica not SERVING gets none); with one address behind a load
    balancer, the balancer does it.

    With `ca_file` the channel is TLS, trusting that CA (PEM); with
    `cert_file` and `key_file` too it is mutual TLS. `server_name`
    overrides the name checked in the server's certificate (e.g.
    "localhost" when dialling 127.0.0.1). Without `ca_file` the channel is
    plaintext, which the client allows to loopback addresses only.

    `timeout` (seconds) is every call's default deadline, retries included.
    `retry` (a Retry) says when calls are tried again; NO_RETRY never.
    """

    def __init__(self, address, api_key, ca_file=None, cert_file=None,
                 key_file=None, server_name=None, timeout=30.0,
                 balance=None, retry=None):
        target, credentials, options = channel_parts(
            address, api_key, ca_file, cert_file, key_file, server_name,
            balance)
        self.channel = grpc.secure_channel(target, credentials, options)
        self.timeout = timeout
        self.retry = retry or Retry()
        self.directory = _Service(
            self, user_directory_pb2_grpc.UserDirectoryStub(self.channel))
        self.accounts = _Service(
            self, integrated_accounts_pb2_grpc.IntegratedAccountsStub(
                self.channel))
        self.proxy = _Service(self, proxy_pb2_grpc.ProxyStub(self.channel))

    def close(self):
        self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *unused):
        self.close()

    def _wait_before_retry(self, name, error, tries, deadline):
        return wait_before_retry(self.retry, name, error, tries, deadline)

    def _unary(self, name, method, request, timeout, on_retry,
               request_id=None, metadata=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        pairs = call_metadata(request_id, metadata)
        tries = 0
        while True:
            try:
                return method(request,
                              timeout=max(0.0, deadline - time.monotonic()),
                              metadata=pairs)
            except grpc.RpcError as raw:
                error = UnifiedError.from_rpc_error(raw)
                self._pause(error, self._wait_before_retry(
                    name, error, tries, deadline), on_retry)
                tries += 1

    @staticmethod
    def _pause(error, wait, on_retry):
        """Raises `error` when `wait` is None (no retry); else tells
        `on_retry` and sleeps `wait` seconds before the next try."""
        if wait is None:
            raise error from None
        if on_retry:
            on_retry(error, wait)
        time.sleep(wait)

    def _resumed(self, name, request, advance, timeout, on_retry,
                 request_id=None, metadata=None):
        """Messages of the stream `name`, opened again with `request` after
        a failure worth retrying; `advance(request, message)` moves the
        request past a message once it has been taken, and says whether
        more follow. `timeout` None: no deadline (until cancelled)."""
        method = getattr(self.directory, name).raw
        deadline = None if timeout is None else time.monotonic() + timeout
        tries = 0
        while True:
            call = method(request, timeout=None if deadline is None else max(
                0.0, deadline - time.monotonic()),
                metadata=call_metadata(request_id, metadata))
            try:
                for message in call:
                    tries = 0
                    yield message
                    if not advance(request, message):
                        return
                return
            except grpc.RpcError as raw:
                error = UnifiedError.from_rpc_error(raw)
                stalled = error.reason == "STREAM_STALLED"
                self._pause(error, 0.0 if stalled else self._wait_before_retry(
                    name, error, tries, deadline), on_retry)
                tries += 1
            finally:
                call.cancel()  # Ends it when the caller stops reading.

    def records(self, name, request, timeout=300.0, on_retry=None,
                request_id=None, metadata=None):
        """Each record of a Stream* listing (StreamUsers, ...) once, in
        order. After UNAVAILABLE, a stall or a retryable error the stream is
        opened again at the cursor after the last message taken, so no
        record is lost or repeated. Raises UnifiedError otherwise, or when
        `timeout` (seconds, the whole listing) runs out."""
        request = copy_message(request)

        for page in self._resumed(name, request, next_page, timeout, on_retry,
                                  request_id, metadata):
            for record in page.result:
                yield record

    def events(self, request, timeout=None, on_retry=None, request_id=None,
               metadata=None):
        """WatchDirectory's events, resumed from the last resume_token
        after UNAVAILABLE: no event after it is lost or repeated. A snapshot
        cut short before its first resume_token is sent again whole. Runs
        until the caller stops reading (or `timeout` seconds, when given)."""
        request = copy_message(request)

        return self._resumed("WatchDirectory", request, after_event, timeout,
                             on_retry, request_id, metadata)

    def create_link_session(self, end_customer_id, return_url,
                            display_name="", providers=(),
                            integrated_account_id="", state="",
                            ttl_seconds=0, timeout=None, on_retry=None,
                            request_id=None, metadata=None):
        """A link session for one of your customers: its `link_token`, the
        connect page's `url` to open in the customer's browser, and its
        `expire_time` (IntegratedAccounts.CreateLinkSession;
        docs/linking.md)."""
        return self.accounts.CreateLinkSession(
            link_session_request(end_customer_id, return_url, display_name,
                                 providers, integrated_account_id, state,
                                 ttl_seconds),
            timeout, on_retry, request_id=request_id, metadata=metadata)

    def watch(self, account_id=None, account_ids=None, all_accounts=False,
              include_snapshot=False, resume_token="", timeout=None,
              on_retry=None, request_id=None, metadata=None):
        """WatchDirectory's events for one account, several or all: a
        generator that runs until the caller stops reading (events)."""
        return self.events(
            watch_request(account_id, account_ids, all_accounts,
                          include_snapshot, resume_token),
            timeout, on_retry, request_id=request_id, metadata=metadata)


def _idiomatic(name, method, request_type, kind, positional):
    """The Client method `name` of the CALLS table (calls.py)."""

    def call(self, account_id, *args, fields=None, page_size=None,
             timeout=None, on_retry=None, request_id=None, metadata=None,
             **values):
        request = bind(name, request_type, positional, account_id, args,
                       fields, page_size, values)
        options = dict(request_id=request_id, metadata=metadata)
        if kind == "unary":
            return self._unary(method, getattr(self.directory, method).raw,
                               request, timeout, on_retry, **options)
        if kind == "list":
            return Pager(lambda page: self._unary(
                method, getattr(self.directory, method).raw, page, timeout,
                on_retry, **options), request)
        return self.records(method, request, timeout or 300.0, on_retry,
                            **options)

    return describe(call, name, method, kind, "a Pager")


for _entry in CALLS:
    setattr(Client, _entry[0], _idiomatic(*_entry))
