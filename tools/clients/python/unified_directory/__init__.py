"""Python client of the unified User Directory gRPC service.

    from unified_directory import Client, user_directory_pb2 as directory

    client = Client("127.0.0.1:50051", api_key)
    me = client.directory.GetMe(directory.GetMeRequest(
        integrated_account_id=account))
    for user in client.records("StreamUsers", directory.ListUsersRequest(
            integrated_account_id=account)):
        ...

Unary calls wait out the server's RetryInfo and try again within their
deadline where retrying helps; `records` and `events` resume a stream after
UNAVAILABLE from its last cursor or resume token, yielding each record
once; failures are UnifiedError, with the ErrorInfo reason. The message
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
from unified_directory.client import (Client, UnifiedError,  # noqa: E402
                                      RETRY_REASONS)

__all__ = [
    "Client", "UnifiedError", "RETRY_REASONS", "integrated_accounts_pb2",
    "proxy_pb2", "resources_pb2", "user_directory_pb2",
]
