"""Python client of the unified User Directory gRPC service.

    from unified_directory import Client, NotFound

    client = Client("127.0.0.1:50051", api_key)
    me = client.get_me(account, fields=["id", "name"])
    for user in client.list_users(account, query="ann"):  # every page
        ...
    for user in client.stream_users(account):  # streamed, resumed
        ...

The services' own methods stay available (client.directory.GetMe(request)).

Unary calls wait out the server's RetryInfo and try again within their
deadline where retrying helps (Retry configures it); streams resume after
UNAVAILABLE from their last cursor or resume token, yielding each record
once; failures are UnifiedError subclasses keyed by the ErrorInfo reason
(NotFound, RateLimited with retry_after, ...), each with its request id. The message
modules of the API are here too (user_directory_pb2, ...). Guide:
docs/clients.md.
"""

import os
import sys

# The generated stubs import each other by their proto paths
# ("proto.unified.v1", "google.rpc"): an installed package keeps them in
# _gen (a Bazel build puts them on the path itself).
_GEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_gen")
if os.path.isdir(_GEN) and _GEN not in sys.path:
    sys.path.insert(0, _GEN)

# pylint: disable=wrong-import-position
from proto.unified.v1 import (integrated_accounts_pb2,  # noqa: E402
                              proxy_pb2, resources_pb2, user_directory_pb2)
from unified_directory.client import Client, NO_RETRY, Retry  # noqa: E402
from unified_directory.errors import (RETRY_REASONS,  # noqa: E402
                                      Cancelled, DeadlineExceeded,
                                      FailedPrecondition, InvalidArgument,
                                      NeedsReauth, NotFound, PermissionDenied,
                                      RateLimited, Unauthenticated,
                                      Unavailable, UnifiedError)
from unified_directory.pagers import Pager  # noqa: E402

__all__ = [
    "Client", "Retry", "NO_RETRY", "Pager", "UnifiedError", "InvalidArgument",
    "Unauthenticated", "PermissionDenied", "NotFound", "FailedPrecondition",
    "NeedsReauth", "RateLimited", "Unavailable", "DeadlineExceeded",
    "Cancelled", "RETRY_REASONS", "integrated_accounts_pb2", "proxy_pb2",
    "resources_pb2", "user_directory_pb2",
]
