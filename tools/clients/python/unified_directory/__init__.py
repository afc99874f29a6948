"""Python client of the unified User Directory gRPC service.

    from unified_directory import Client, NotFound

    client = Client("127.0.0.1:50051", api_key)
    me = client.get_me(account, fields=["id", "name"])
    for user in client.list_users(account, query="ann"):  # every page
        ...
    for user in client.stream_users(account):  # streamed, resumed
        ...

The services' own methods stay available (client.directory.GetMe(request)).
unified_directory.aio.Client has the same calls on grpc.aio, awaited.

Unary calls wait out the server's RetryInfo and try again within their
deadline where retrying helps (Retry configures it); streams resume after
UNAVAILABLE from their last cursor or resume token, yielding each record
once; failures are UnifiedError subclasses keyed by the ErrorInfo reason
(NotFound, RateLimited with retry_after, ...), each with its request id. The message
modules of the API are here too (user_directory_pb2, ...). Guide:
docs/clients.md.
"""

import pkgutil

# A source checkout's package may find its _gen in a build's output folder
# on the path (bazel-bin/tools/clients/python; docs/walkthrough.md).
__path__ = pkgutil.extend_path(__path__, __name__)

# The generated stubs live in the package (_gen), their imports moved into
# its namespace: nothing else is put on sys.path.
from unified_directory._gen.proto.unified.v1 import (  # noqa: F401
    integrated_accounts_pb2, proxy_pb2, resources_pb2, user_directory_pb2)
from unified_directory.client import NO_RETRY, Client, Retry
from unified_directory.errors import (RETRY_REASONS,
                                      Cancelled, DeadlineExceeded,
                                      FailedPrecondition, InvalidArgument,
                                      NeedsReauth, NotFound, PermissionDenied,
                                      RateLimited, Unauthenticated,
                                      Unavailable, UnifiedError)
from unified_directory.pagers import Pager

__all__ = [
    "Client", "Retry", "NO_RETRY", "Pager", "UnifiedError", "InvalidArgument",
    "Unauthenticated", "PermissionDenied", "NotFound", "FailedPrecondition",
    "NeedsReauth", "RateLimited", "Unavailable", "DeadlineExceeded",
    "Cancelled", "RETRY_REASONS", "integrated_accounts_pb2", "proxy_pb2",
    "resources_pb2", "user_directory_pb2",
]
