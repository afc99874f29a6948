"""The client: channels, retries, resuming streams and typed errors."""

import ipaddress
import json
import time

import grpc

from google.rpc import error_details_pb2, status_pb2
from proto.unified.v1 import (integrated_accounts_pb2_grpc, proxy_pb2_grpc,
                              user_directory_pb2_grpc)

# Reasons whose errors a later try can cure (proto/unified/v1/errors.proto).
# The server puts a RetryInfo on each such error; the client waits that
# long before trying again.
RETRY_REASONS = frozenset([
    "UNAVAILABLE",
    "STORE_UNAVAILABLE",
    "STORE_LOCK_TIMEOUT",
    "SERVER_SHUTTING_DOWN",
    "UPSTREAM_UNAVAILABLE",
    "UPSTREAM_UNREACHABLE",
    "UPSTREAM_RATE_LIMITED",
    "RATE_BUDGET_EXHAUSTED",
    "REFRESH_RATE_LIMITED",
    "TENANT_CONCURRENCY_EXHAUSTED",
    "TENANT_STREAMS_EXHAUSTED",
    "TENANT_WATCH_STREAMS_EXHAUSTED",
    "WATCH_STREAMS_EXHAUSTED",
])

# Codes of a failure outside the service: gRPC's own (no connection, a
# broken one) and a proxy's reset of a stream (UNKNOWN, INTERNAL).
_TRANSPORT_CODES = frozenset([grpc.StatusCode.UNAVAILABLE,
                              grpc.StatusCode.UNKNOWN,
                              grpc.StatusCode.INTERNAL])

# Methods that read only: a transport failure (no answer from the server at
# all) is retried for them, since sending them twice changes nothing.
_READ_PREFIXES = ("Get", "List", "BatchGet", "Stream", "Watch")

# Waits between tries when the server gave no RetryInfo (it was not
# reached): doubling from the first to the last.
_FIRST_BACKOFF = 0.05
_LAST_BACKOFF = 1.0


class UnifiedError(Exception):
    """A failed call: the gRPC code, the ErrorInfo reason and metadata, and
    the RetryInfo delay in seconds (None when the server gave none)."""

    def __init__(self, code, message, reason=None, metadata=None,
                 retry_delay=None):
        super().__init__("%s: %s (reason %s)" % (code.name, message, reason))
        self.code = code
        self.message = message
        self.reason = reason
        self.metadata = metadata or {}
        self.retry_delay = retry_delay

    @classmethod
    def from_rpc_error(cls, error):
        """The UnifiedError of a grpc.RpcError raised by a stub."""
        reason, metadata, delay = None, {}, None
        for key, value in error.trailing_metadata() or ():
            if key != "grpc-status-details-bin":
                continue
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                retry = error_details_pb2.RetryInfo()
                if detail.Unpack(info):
                    reason, metadata = info.reason, dict(info.metadata)
                elif detail.Unpack(retry):
                    delay = (retry.retry_delay.seconds +
                             retry.retry_delay.nanos / 1e9)
        return cls(error.code(), error.details(), reason, metadata, delay)

    @property
    def retryable(self):
        """Whether trying again later can succeed: the reason says so."""
        return self.reason in RETRY_REASONS

    @property
    def unanswered(self):
        """Whether the service never answered: the service puts an ErrorInfo
        on every error, so one without is the transport's or a proxy's (the
        connection failed or broke, e.g. a load balancer resetting a stream
        whose replica died)."""
        return self.reason is None and self.code in _TRANSPORT_CODES


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

        def call(request, timeout=None, on_retry=None):
            return client._unary(name, method, request, timeout, on_retry)

        call.raw = method  # The stub's own callable, without retries.
        return call


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
    """

    def __init__(self, address, api_key, ca_file=None, cert_file=None,
                 key_file=None, server_name=None, timeout=30.0,
                 balance=None):
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
        self.channel = grpc.secure_channel(
            target, grpc.composite_channel_credentials(
                channel_credentials, key), options)
        self.timeout = timeout
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
        """Seconds to wait before another try of `name`, or None: give up."""
        if error.retryable:
            wait = error.retry_delay
            if wait is None:
                wait = min(_LAST_BACKOFF, _FIRST_BACKOFF * 2 ** tries)
        elif error.unanswered and name.startswith(_READ_PREFIXES):
            wait = min(_LAST_BACKOFF, _FIRST_BACKOFF * 2 ** tries)
        else:
            return None
        # Only when the try after the wait can still finish in time.
        if time.monotonic() + wait >= deadline:
            return None
        return wait

    def _unary(self, name, method, request, timeout, on_retry):
        deadline = time.monotonic() + (timeout or self.timeout)
        tries = 0
        while True:
            try:
                return method(request,
                              timeout=max(0.0, deadline - time.monotonic()))
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

    def _resumed(self, name, request, advance, timeout, on_retry):
        """Messages of the stream `name`, opened again with `request` after
        a failure worth retrying; `advance(request, message)` moves the
        request past a message once it has been taken, and says whether
        more follow."""
        method = getattr(self.directory, name).raw
        deadline = time.monotonic() + (timeout or self.timeout)
        tries = 0
        while True:
            call = method(request,
                          timeout=max(0.0, deadline - time.monotonic()))
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

    def records(self, name, request, timeout=300.0, on_retry=None):
        """Each record of a Stream* listing (StreamUsers, ...) once, in
        order. After UNAVAILABLE, a stall or a retryable error the stream is
        opened again at the cursor after the last message taken, so no
        record is lost or repeated. Raises UnifiedError otherwise, or when
        `timeout` (seconds, the whole listing) runs out."""
        request = type(request).FromString(request.SerializeToString())

        def advance(req, page):
            req.cursor = page.next_cursor
            return bool(page.next_cursor)

        for page in self._resumed(name, request, advance, timeout, on_retry):
            for record in page.result:
                yield record

    def events(self, request, timeout=3600.0, on_retry=None):
        """WatchDirectory's events, resumed from the last resume_token
        after UNAVAILABLE: no event after it is lost or repeated. A snapshot
        cut short before its first resume_token is sent again whole."""
        request = type(request).FromString(request.SerializeToString())

        def advance(req, event):
            if event.resume_token:
                req.resume_token = event.resume_token
                req.include_snapshot = False
            return True

        return self._resumed("WatchDirectory", request, advance, timeout,
                             on_retry)
