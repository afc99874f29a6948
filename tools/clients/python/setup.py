"""Builds the package with its generated stubs (see pyproject.toml).

The .proto files are this repository's (proto/unified/v1) and google/rpc's
(tools/protos/google_rpc_protos.py writes them); protoc and the gRPC Python
plugin are Debian's. The stubs go into unified_directory/_gen, their imports
of each other moved into the package's namespace (relocate_stubs.py).
"""

import os
import subprocess
import sys
import tempfile

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
PROTOS = ["proto/unified/v1/%s.proto" % name for name in
          ("resources", "user_directory", "integrated_accounts", "proxy")]
RPC_PROTOS = ["google/rpc/%s.proto" % name for name in
              ("code", "error_details", "status")]


class BuildWithStubs(build_py):
    """build_py, then the stubs into the built package's _gen."""

    def run(self):
        super().run()
        out = os.path.abspath(
            os.path.join(self.build_lib, "unified_directory", "_gen"))
        os.makedirs(out, exist_ok=True)
        with tempfile.TemporaryDirectory() as rpc:
            subprocess.check_call([
                sys.executable,
                os.path.join(ROOT, "tools", "protos", "google_rpc_protos.py"),
                rpc])
            subprocess.check_call(
                ["/usr/bin/protoc", "-I" + rpc, "-I.", "-I/usr/include",
                 "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
                 "--python_out=" + out, "--pyi_out=" + out,
                 "--grpc_python_out=" + out] +
                PROTOS + [os.path.join(rpc, p) for p in RPC_PROTOS],
                cwd=ROOT)
        sys.path.insert(0, HERE)
        import relocate_stubs  # pylint: disable=import-outside-toplevel
        relocate_stubs.main(
            os.path.join(folder, name) for folder, _, names in os.walk(out)
            for name in names if name.endswith((".py", ".pyi")))


setup(cmdclass={"build_py": BuildWithStubs})
