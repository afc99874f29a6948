"""Writes google/rpc/{code,error_details,status}.proto under a directory.

They come from Debian's proto-google-common-protos jar. Its 1.16.0 copy
predates google.rpc.ErrorInfo, which current versions of the same file
define (AIP-193): ErrorInfo is appended with the published field numbers,
so that clients holding the current file decode it. Used by the build
(//tools/protos:google_rpc_sources) and by the Python package's build.

    python3 google_rpc_protos.py OUT_DIR
"""

import os
import sys
import zipfile

JAR = "/usr/share/java/proto-google-common-protos-1.16.0.jar"
FILES = ("google/rpc/code.proto", "google/rpc/error_details.proto",
         "google/rpc/status.proto")
ERROR_INFO = """
// Added at build time: see tools/protos/google_rpc_protos.py.
message ErrorInfo {
  string reason = 1;
  string domain = 2;
  map<string, string> metadata = 3;
}
"""


def write(out_dir):
    with zipfile.ZipFile(JAR) as jar:
        for name in FILES:
            text = jar.read(name).decode("utf-8")
            if name.endswith("error_details.proto"):
                text += ERROR_INFO
            path = os.path.join(out_dir, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)


if __name__ == "__main__":
    write(sys.argv[1])
