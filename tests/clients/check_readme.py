"""Checks the README's grpcurl walkthrough against the API and a live server.

Every `grpcurl ... pkg.Service/Method` command must name a real method, and
its -d JSON must parse into that method's request type (unknown fields
fail). The commands are then sent, with the same JSON, to the running
server named by --address (the API key and a linked account substituted for
$KEY and $ACCOUNT); each must succeed, except where the README says it
answers an error.
"""

import argparse
import json
import re
import shlex
import sys

import grpc
from google.protobuf import json_format, symbol_database

from proto.unified.v1 import (integrated_accounts_pb2, proxy_pb2,
                              user_directory_pb2)

PACKAGES = {
    "unified.v1": [user_directory_pb2, integrated_accounts_pb2, proxy_pb2],
}


def commands(readme):
    text = re.sub(r"\\\n\s*", " ", readme)
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("grpcurl ") and re.search(r"unified\.v1\.\w+/\w+",
                                                     line):
            yield line


def method_of(full_name):
    service, method = full_name.split("/")
    package = service.rsplit(".", 1)[0]
    for module in PACKAGES[package]:
        descriptor = module.DESCRIPTOR.services_by_name.get(
            service.rsplit(".", 1)[1])
        if descriptor is not None:
            found = descriptor.FindMethodByName(method)
            if found is not None:
                return found
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--readme", required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--api_key", required=True)
    parser.add_argument("--account", required=True)
    args = parser.parse_args()
    channel = grpc.insecure_channel(args.address)
    checked = 0
    for command in commands(open(args.readme).read()):
        command = command.replace("$KEY", args.api_key).replace(
            "$ACCOUNT", args.account)
        words = shlex.split(command.split(" # ")[0])
        target = next(w for w in words if re.match(r"unified\.v1\.\w+/\w+", w))
        method = method_of(target)
        if method is None:
            print("FAIL: no such method: " + target)
            return 1
        data = "{}"
        if "-d" in words:
            data = words[words.index("-d") + 1]
        db = symbol_database.Default()
        request_class = db.GetSymbol(method.input_type.full_name)
        response_class = db.GetSymbol(method.output_type.full_name)
        request = json_format.Parse(data, request_class())
        metadata = (("authorization", "Bearer " + args.api_key),)
        path = "/%s/%s" % (method.containing_service.full_name, method.name)
        expects_error = "# error:" in command
        try:
            if method.server_streaming:
                call = channel.unary_stream(
                    path, request_serializer=request_class.SerializeToString,
                    response_deserializer=response_class.FromString)
                # A stream that stays open (WatchDirectory) is shown with
                # grpcurl's -max-time: what arrived by then is the answer.
                max_time = None
                if "-max-time" in words:
                    max_time = float(words[words.index("-max-time") + 1])
                messages = []
                try:
                    for message in call(request, metadata=metadata,
                                        timeout=max_time or 30):
                        messages.append(message)
                except grpc.RpcError as error:
                    if (max_time is None or error.code() !=
                            grpc.StatusCode.DEADLINE_EXCEEDED):
                        raise
                assert messages, "no message"
                response = messages[0]
            else:
                call = channel.unary_unary(
                    path, request_serializer=request_class.SerializeToString,
                    response_deserializer=response_class.FromString)
                response = call(request, metadata=metadata, timeout=30)
            print("# %s\n%s" % (target, json_format.MessageToJson(response)))
            if expects_error:
                print("FAIL: expected an error: " + target)
                return 1
        except grpc.RpcError as error:
            wanted = command.split("# error:")[1].strip() if expects_error else ""
            if not expects_error or error.code().name != wanted:
                print("FAIL: %s answered %s: %s" %
                      (target, error.code().name, error.details()))
                return 1
        checked += 1
        print("ok %s %s" % (target, data))
    if checked < 10:
        print("FAIL: only %d commands found" % checked)
        return 1
    print("%d README commands match the API" % checked)
    return 0


if __name__ == "__main__":
    sys.exit(main())
