"""Errors of the service as a small hierarchy, keyed by the ErrorInfo
reason (proto/unified/v1/errors.proto) and else by the gRPC code:

    try:
        client.get_user(account, user_id)
    except unified_directory.NotFound:
        ...
    except unified_directory.RateLimited as error:
        time.sleep(error.retry_after)

Every error is a UnifiedError, with the code, message, reason, metadata,
the RetryInfo delay (`retry_after`, seconds) and the call's request id.
"""

import grpc

from unified_directory._gen.google.rpc import error_details_pb2, status_pb2

# Codes of a failure outside the service: gRPC's own (no connection, a
# broken one) and a proxy's reset of a stream (UNKNOWN, INTERNAL).
_TRANSPORT_CODES = frozenset([grpc.StatusCode.UNAVAILABLE,
                              grpc.StatusCode.UNKNOWN,
                              grpc.StatusCode.INTERNAL])

# Reasons whose errors a later try can cure. The server puts a RetryInfo
# on each such error; the client waits that long before trying again.
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


class UnifiedError(Exception):
    """A failed call: the gRPC code, the ErrorInfo reason and metadata, the
    RetryInfo delay in seconds (`retry_after`; None when the server gave
    none) and the request id the server logged the call under."""

    def __init__(self, code, message, reason=None, metadata=None,
                 retry_delay=None, request_id=None):
        super().__init__("%s: %s (reason %s)" % (code.name, message, reason))
        self.code = code
        self.message = message
        self.reason = reason
        self.metadata = metadata or {}
        self.retry_delay = retry_delay
        self.request_id = request_id

    @property
    def retry_after(self):
        """Seconds the server asks to wait before trying again, or None."""
        return self.retry_delay

    @classmethod
    def from_rpc_error(cls, error):
        """The error of a grpc.RpcError raised by a stub, as the class its
        reason (else its code) names."""
        reason, metadata, delay, request_id = None, {}, None, None
        pairs = list(_metadata(error, "initial_metadata")) + list(
            _metadata(error, "trailing_metadata"))
        for key, value in pairs:
            if key == "x-request-id":
                request_id = value
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
        kind = error_class(error.code(), reason) if cls is UnifiedError \
            else cls
        return kind(error.code(), error.details(), reason, metadata, delay,
                    request_id)

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


def _metadata(error, which):
    getter = getattr(error, which, None)
    return (getter() or ()) if getter else ()


class InvalidArgument(UnifiedError):
    """The request is wrong (INVALID_ARGUMENT): fix it, do not retry."""


class Unauthenticated(UnifiedError):
    """The API key is missing, unknown or revoked (UNAUTHENTICATED)."""


class PermissionDenied(UnifiedError):
    """The tenant, or the provider, refuses the call (PERMISSION_DENIED)."""


class NotFound(UnifiedError):
    """The account, user, workspace or role does not exist (NOT_FOUND)."""


class FailedPrecondition(UnifiedError):
    """The call cannot work in the account's state (FAILED_PRECONDITION)."""


class NeedsReauth(FailedPrecondition):
    """The account's credentials no longer work: link it again (reason
    NEEDS_REAUTH)."""


class RateLimited(UnifiedError):
    """A rate budget or a concurrency limit is spent (RESOURCE_EXHAUSTED);
    `retry_after` says when to try again."""


class Unavailable(UnifiedError):
    """The service or the provider cannot answer now (UNAVAILABLE)."""


class DeadlineExceeded(UnifiedError):
    """The call's deadline passed (DEADLINE_EXCEEDED)."""


class Cancelled(UnifiedError):
    """The call was cancelled (CANCELLED)."""


_BY_REASON = {
    "NEEDS_REAUTH": NeedsReauth,
}

_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgument,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.RESOURCE_EXHAUSTED: RateLimited,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.CANCELLED: Cancelled,
}


def error_class(code, reason):
    """The UnifiedError subclass for an error's reason, else its code."""
    return _BY_REASON.get(reason) or _BY_CODE.get(code, UnifiedError)
