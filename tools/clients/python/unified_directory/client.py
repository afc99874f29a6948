"""A small Python client of the unified User Directory service.

Wraps the generated stubs (built by Bazel with grpc_python_plugin) so every
call carries the API key, and reads gRPC's rich error details (reason,
metadata, retry delay) from a failed call.
"""

import grpc

from google.rpc import error_details_pb2, status_pb2
from proto.unified.v1 import (integrated_accounts_pb2_grpc, proxy_pb2_grpc,
                              user_directory_pb2_grpc)


class Client:
    """Stubs of the three services over one channel, with the API key set.

    With `ca_file` the channel is TLS, trusting that CA (PEM); with
    `cert_file` and `key_file` too it is mutual TLS. `server_name` overrides
    the name checked in the server's certificate (e.g. "localhost" when
    dialling 127.0.0.1). Without `ca_file`: plaintext, for loopback only.
    """

    def __init__(self, address, api_key, ca_file=None, cert_file=None,
                 key_file=None, server_name=None):
        if ca_file:
            def read(path):
                with open(path, "rb") as f:
                    return f.read()
            credentials = grpc.ssl_channel_credentials(
                root_certificates=read(ca_file),
                private_key=read(key_file) if key_file else None,
                certificate_chain=read(cert_file) if cert_file else None)
            options = ((("grpc.ssl_target_name_override", server_name),)
                       if server_name else ())
            self.channel = grpc.secure_channel(address, credentials, options)
        else:
            self.channel = grpc.insecure_channel(address)
        self._metadata = (("authorization", "Bearer " + api_key),)
        self.directory = user_directory_pb2_grpc.UserDirectoryStub(
            self.channel)
        self.accounts = integrated_accounts_pb2_grpc.IntegratedAccountsStub(
            self.channel)
        self.proxy = proxy_pb2_grpc.ProxyStub(self.channel)

    def call(self, method, request, timeout=30):
        """Calls a unary RPC, e.g. client.call(client.directory.GetMe, req)."""
        return method(request, metadata=self._metadata, timeout=timeout)

    def stream(self, method, request, timeout=300):
        """Iterates a server-streaming RPC's messages."""
        return method(request, metadata=self._metadata, timeout=timeout)

    def close(self):
        self.channel.close()


def error_details(error):
    """The rich details of a failed call, as a dict: code, message, reason,
    metadata and retry_delay_seconds (None when the server gave none)."""
    details = {
        "code": error.code().name,
        "message": error.details(),
        "reason": None,
        "metadata": {},
        "retry_delay_seconds": None,
    }
    for key, value in error.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for any_detail in status.details:
            info = error_details_pb2.ErrorInfo()
            retry = error_details_pb2.RetryInfo()
            if any_detail.Unpack(info):
                details["reason"] = info.reason
                details["metadata"] = dict(info.metadata)
            elif any_detail.Unpack(retry):
                details["retry_delay_seconds"] = (
                    retry.retry_delay.seconds +
                    retry.retry_delay.nanos / 1e9)
    return details
