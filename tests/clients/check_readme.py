"""Runs the grpcurl commands of the README and the documents its
walkthrough lives in (docs/walkthrough.md, docs/api.md, docs/watching.md)
against a live server and compares the outputs they show.

Every `grpcurl` command in the README is run, as grpcurl would run it:
`list` and `describe` through server reflection, the health check, and each
`unified.v1` method (which must exist, with -d JSON that parses into its
request type: unknown fields fail). Each must succeed, except where the
command says `# error: CODE`, which must fail with that code.

An output block is compared when the line before its fence is
`<!-- output: N -->`: it is the output of the N-th command (from 1) of the
nearest ```sh block above it. Outputs are printed as grpcurl prints them
(the proto3 JSON mapping, two-space indents; map entries in key order), and
compared line by line after masking what changes from run to run (times,
account ids, cursors, budget counts, request ids, bodies). A shown line
`...` stands for any number of lines.

--print prints every command's output instead of comparing, for updating
the README.
"""

import argparse
import importlib.util
import json
import os
import re
import shlex
import sys

import grpc
from google.protobuf import descriptor_pb2, json_format, symbol_database

from unified_directory import (integrated_accounts_pb2, proxy_pb2,
                              user_directory_pb2)


def load(path):
    """A generated module by its file: gRPC's own messages live under a
    top-level `grpc` package, which grpcio's own package hides."""
    root = os.environ["GRPC_PY_MESSAGES"]
    spec = importlib.util.spec_from_file_location(
        os.path.basename(path)[:-3], os.path.join(root, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


health_pb2 = load("grpc/health/v1/health_pb2.py")
reflection_pb2 = load("grpc/reflection/v1alpha/reflection_pb2.py")
MODULES = [user_directory_pb2, integrated_accounts_pb2, proxy_pb2,
           health_pb2]

MASKS = [
    (r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z', '<time>'),
    (r'\b(ia|uk)_[0-9a-f]{8,}', r'\1_<id>'),
    (r'("(?:nextCursor|resumeToken)": )"[^"]*"', r'\1"<token>"'),
    (r'("(?:remaining|rateLimitedRemaining)": )"\d+"', r'\1"<n>"'),
    (r'("body": )"[^"]*"', r'\1"<bytes>"'),
    (r'("name": "x-podio-request-id",\s*"value": )"[^"]*"', r'\1"<id>"'),
]


def mask(text):
    for pattern, replacement in MASKS:
        text = re.sub(pattern, replacement, text)
    return text


def matches(shown, actual):
    """Whether `actual` is `shown` with each `...` line standing for any
    number of lines (both masked)."""
    pattern = ""
    for line in mask(shown).rstrip("\n").split("\n"):
        if line.strip() == "...":
            pattern += r"(?:[^\n]*\n)*?"
        else:
            pattern += re.escape(line) + r"\n"
    return re.fullmatch(pattern, mask(actual).rstrip("\n") + "\n") is not None


def blocks(readme):
    """(language, text, output index or None) of each fenced block."""
    lines = readme.split("\n")
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            language = lines[i][3:].strip()
            end = lines.index("```", i + 1)
            marker = re.match(r"<!-- output: (\d+) -->", lines[i - 1]) if i else None
            yield language, "\n".join(lines[i + 1:end]) + "\n", (
                int(marker.group(1)) if marker else None)
            i = end
        i += 1


def commands(sh_block):
    text = re.sub(r"\\\n\s*", " ", sh_block)
    return [line.strip() for line in text.split("\n")
            if line.strip().startswith("grpcurl ")]


def to_dict(message):
    """The proto3 JSON mapping, with map entries in key order."""
    out = json_format.MessageToDict(message)
    def sort_maps(value, descriptor):
        for field in descriptor.fields:
            key = field.json_name
            if key not in value:
                continue
            if field.message_type is None:
                continue
            if field.message_type.GetOptions().map_entry:
                value[key] = dict(sorted(value[key].items()))
                inner = field.message_type.fields_by_name["value"]
                if inner.message_type is not None:
                    for v in value[key].values():
                        if isinstance(v, dict):
                            sort_maps(v, inner.message_type)
            elif field.label == field.LABEL_REPEATED:
                for v in value[key]:
                    if isinstance(v, dict):
                        sort_maps(v, field.message_type)
            elif isinstance(value[key], dict):
                sort_maps(value[key], field.message_type)
    sort_maps(out, message.DESCRIPTOR)
    return out


def to_json(message):
    return json.dumps(to_dict(message), indent=2, ensure_ascii=False)


class Runner:
    def __init__(self, address, api_key):
        self.channel = grpc.insecure_channel(address)
        self.metadata = (("authorization", "Bearer " + api_key),)

    def reflect(self, request):
        call = self.channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
        return next(iter(call(iter([request]), timeout=30)))

    def list(self):
        response = self.reflect(reflection_pb2.ServerReflectionRequest(
            list_services=""))
        return "\n".join(sorted(
            s.name for s in response.list_services_response.service)) + "\n"

    def describe(self, symbol):
        response = self.reflect(reflection_pb2.ServerReflectionRequest(
            file_containing_symbol=symbol))
        if response.HasField("error_response"):
            raise AssertionError("describe %s: %s" % (
                symbol, response.error_response.error_message))
        package, name = symbol.rsplit(".", 1)
        for raw in response.file_descriptor_response.file_descriptor_proto:
            file = descriptor_pb2.FileDescriptorProto.FromString(raw)
            if file.package != package:
                continue
            for service in file.service:
                if service.name == name:
                    rpcs = "".join(
                        "  rpc %s ( %s%s ) returns ( %s%s );\n" % (
                            m.name, "stream " if m.client_streaming else "",
                            m.input_type, "stream " if m.server_streaming else "",
                            m.output_type) for m in service.method)
                    assert service.method, "no methods"
                    return "%s is a service:\nservice %s {\n%s}\n" % (
                        symbol, name, rpcs)
        raise AssertionError("describe %s: not found" % symbol)

    def call(self, target, data, max_time):
        service_name, method_name = target.split("/")
        method = None
        for module in MODULES:
            service = module.DESCRIPTOR.services_by_name.get(
                service_name.rsplit(".", 1)[1])
            if service is not None and service.full_name == service_name:
                method = service.methods_by_name.get(method_name)
        if method is None:
            raise AssertionError("no such method: " + target)
        db = symbol_database.Default()
        request_class = db.GetSymbol(method.input_type.full_name)
        response_class = db.GetSymbol(method.output_type.full_name)
        request = json_format.Parse(data, request_class())
        path = "/" + target
        if method.server_streaming:
            call = self.channel.unary_stream(
                path, request_serializer=request_class.SerializeToString,
                response_deserializer=response_class.FromString)
            messages = []
            try:
                for message in call(request, metadata=self.metadata,
                                    timeout=max_time or 30):
                    messages.append(message)
            except grpc.RpcError as error:
                # A stream that stays open (WatchDirectory) is shown with
                # grpcurl's -max-time: what arrived by then is the answer.
                if (max_time is None or
                        error.code() != grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise
            assert messages, "no message"
            return "\n".join(to_json(m) for m in messages) + "\n"
        call = self.channel.unary_unary(
            path, request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString)
        return to_json(call(request, metadata=self.metadata, timeout=30)) + "\n"

    def run(self, command):
        """The command's output; raises grpc.RpcError when it fails."""
        words = shlex.split(command.split(" # ")[0])
        flags_with_values = {"-d", "-H", "-max-time"}
        rest, i = [], 1
        while i < len(words):
            if words[i] in flags_with_values:
                i += 2
                continue
            if not words[i].startswith("-"):
                rest.append(words[i])
            i += 1
        # rest: [address, verb or method, symbol?]
        if rest[1] == "list":
            return self.list()
        if rest[1] == "describe":
            return self.describe(rest[2])
        data = words[words.index("-d") + 1] if "-d" in words else "{}"
        max_time = (float(words[words.index("-max-time") + 1])
                    if "-max-time" in words else None)
        return self.call(rest[1], data, max_time)


def main():
    parser = argparse.ArgumentParser()
    # The README and the documents its walkthrough moved to, in order.
    parser.add_argument("--readme", required=True, action="append")
    parser.add_argument("--address", required=True)
    parser.add_argument("--api_key", required=True)
    parser.add_argument("--account", required=True)
    parser.add_argument("--print", action="store_true")
    args = parser.parse_args()
    runner = Runner(args.address, args.api_key)
    ran = compared = 0
    outputs = []  # Outputs of the latest sh block's commands.
    failures = []
    documents = "\n".join(open(path).read() for path in args.readme)
    for language, text, output_of in blocks(documents):
        if language == "sh":
            outputs = []
            for command in commands(text):
                if "127.0.0.1:50051" not in command:
                    # A placeholder host (HOST:50051 with TLS files): the
                    # mTLS example tests run the same set-up.
                    print("not run (no local address): " + command)
                    outputs.append(None)
                    continue
                command = (command.replace("$KEY", args.api_key)
                           .replace("$ACCOUNT", args.account)
                           .replace("127.0.0.1:50051", args.address))
                expects = (command.split("# error:")[1].strip()
                           if "# error:" in command else None)
                try:
                    output = runner.run(command)
                    if expects:
                        failures.append("expected %s: %s" % (expects, command))
                except grpc.RpcError as error:
                    output = None
                    if error.code().name != expects:
                        failures.append("%s answered %s: %s" % (
                            command, error.code().name, error.details()))
                except AssertionError as error:
                    output = None
                    failures.append("%s: %s" % (command, error))
                outputs.append(output)
                ran += 1
                if args.print:
                    print("$ %s\n%s" % (command, output))
        elif output_of is not None:
            if output_of > len(outputs) or outputs[output_of - 1] is None:
                failures.append("no output of command %d for the block:\n%s" %
                                (output_of, text))
                continue
            compared += 1
            if not matches(text, outputs[output_of - 1]):
                failures.append("the README shows:\n%s\nthe server answered:\n%s"
                                % (text, outputs[output_of - 1]))
    for failure in failures:
        print("FAIL: " + failure)
    if ran < 15 or compared < 5:
        print("FAIL: only %d commands run and %d outputs compared" %
              (ran, compared))
        return 1
    if failures:
        return 1
    print("%d README commands run, %d shown outputs match" % (ran, compared))
    return 0


if __name__ == "__main__":
    sys.exit(main())
