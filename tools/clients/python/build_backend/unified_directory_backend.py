"""The package's build backend (PEP 517), on the standard library alone.

pip builds the package in an isolated environment from the backend named in
pyproject.toml. A setuptools backend must first install setuptools and
wheel there: from an index, or from the interpreter when isolation is off.
So an interpreter without them, offline, could not install the package.
This backend requires nothing, so any python3 (3.9 or later) whose pip
runs it can build the wheel: pyproject.toml names it with `backend-path`.

The wheel holds:
 - the package's own modules, type stubs and py.typed;
 - the stubs generated from proto/unified/v1 and google/rpc's .proto files
   into unified_directory/_gen, their imports moved into the package's
   namespace (../relocate_stubs.py). protoc and grpc_python_plugin are taken
   from PATH, else from /usr/bin (Debian's protobuf-compiler and
   protobuf-compiler-grpc). google/rpc's files come from
   tools/protos/google_rpc_protos.py.
 - the metadata below (the package's one statement of its name, version
   and dependencies).

An sdist carries the .proto files and the two scripts it needs under
`_build/`, so it builds where the repository is absent.
"""

import base64
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

NAME = "unified_directory"
DIST = "unified-directory"
VERSION = "2.0.0"
SUMMARY = "Client of the unified User Directory gRPC service"
REQUIRES_PYTHON = ">=3.9"
REQUIRES = ("grpcio>=1.51", "protobuf>=3.21")
TAG = "py3-none-any"

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROTOS = tuple("proto/unified/v1/%s.proto" % name for name in
               ("resources", "user_directory", "integrated_accounts", "proxy"))
RPC_PROTOS = tuple("google/rpc/%s.proto" % name for name in
                   ("code", "error_details", "status"))
# Inside an sdist: what the repository gives otherwise.
SDIST_EXTRAS = "_build"


def _metadata():
    lines = ["Metadata-Version: 2.1", "Name: " + DIST, "Version: " + VERSION,
             "Summary: " + SUMMARY, "Requires-Python: " + REQUIRES_PYTHON]
    lines += ["Requires-Dist: " + r for r in REQUIRES]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _wheel_file():
    return ("Wheel-Version: 1.0\nGenerator: unified_directory_backend\n"
            "Root-Is-Purelib: true\nTag: %s\n" % TAG).encode("utf-8")


def _sources():
    """(root holding proto/, the tools/ scripts' folder) for this tree."""
    extras = os.path.join(HERE, SDIST_EXTRAS)
    if os.path.isdir(extras):
        return extras, extras
    root = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
    return root, os.path.join(root, "tools", "protos")


def _program(name):
    found = shutil.which(name)
    if found:
        return found
    fallback = os.path.join("/usr/bin", name)
    if os.path.exists(fallback):
        return fallback
    raise RuntimeError("building %s needs %s (Debian: protobuf-compiler and "
                       "protobuf-compiler-grpc)" % (DIST, name))


def _generate(out):
    """Writes the relocated stubs under `out` (the package's _gen)."""
    root, scripts = _sources()
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as rpc:
        subprocess.check_call(
            [sys.executable, os.path.join(scripts, "google_rpc_protos.py"), rpc])
        subprocess.check_call(
            [_program("protoc"), "-I" + rpc, "-I.", "-I/usr/include",
             "--plugin=protoc-gen-grpc_python=" +
             _program("grpc_python_plugin"),
             "--python_out=" + out, "--pyi_out=" + out,
             "--grpc_python_out=" + out] +
            list(PROTOS) + [os.path.join(rpc, p) for p in RPC_PROTOS],
            cwd=root)
    sys.path.insert(0, HERE)
    try:
        import relocate_stubs  # pylint: disable=import-outside-toplevel
    finally:
        sys.path.remove(HERE)
    relocate_stubs.main(
        os.path.join(folder, name) for folder, _, names in os.walk(out)
        for name in names if name.endswith((".py", ".pyi")))


def _package_files(gen):
    """(path in the wheel, path on disk) of every file the wheel holds."""
    src = os.path.join(HERE, NAME)
    files = [("%s/%s" % (NAME, name), os.path.join(src, name))
             for name in sorted(os.listdir(src))
             if name.endswith((".py", ".pyi")) or name == "py.typed"]
    for folder, _, names in sorted(os.walk(gen)):
        for name in sorted(names):
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, os.path.dirname(os.path.dirname(gen)))
            files.append((rel.replace(os.sep, "/"), path))
    return files


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
    return "%s,sha256=%s,%d" % (name, digest.rstrip(b"=").decode(), len(data))


def _write_wheel(path, files):
    info = "%s-%s.dist-info" % (NAME, VERSION)
    records = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        def add(name, data):
            wheel.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
            records.append(_record_line(name, data))
        for name, disk in files:
            with open(disk, "rb") as f:
                add(name, f.read())
        add(info + "/METADATA", _metadata())
        add(info + "/WHEEL", _wheel_file())
        records.append(info + "/RECORD,,")
        wheel.writestr(zipfile.ZipInfo(info + "/RECORD", (1980, 1, 1, 0, 0, 0)),
                       ("\n".join(records) + "\n").encode("utf-8"))


# The PEP 517 hooks.

def get_requires_for_build_wheel(config_settings=None):
    del config_settings
    return []


def get_requires_for_build_sdist(config_settings=None):
    del config_settings
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    """The metadata alone, so that pip resolves without generating stubs."""
    del config_settings
    info = "%s-%s.dist-info" % (NAME, VERSION)
    os.makedirs(os.path.join(metadata_directory, info), exist_ok=True)
    for name, data in (("METADATA", _metadata()), ("WHEEL", _wheel_file())):
        with open(os.path.join(metadata_directory, info, name), "wb") as f:
            f.write(data)
    return info


def build_wheel(wheel_directory, config_settings=None,
                metadata_directory=None):
    del config_settings, metadata_directory
    name = "%s-%s-%s.whl" % (NAME, VERSION, TAG)
    with tempfile.TemporaryDirectory() as work:
        gen = os.path.join(work, NAME, "_gen")
        _generate(gen)
        _write_wheel(os.path.join(wheel_directory, name), _package_files(gen))
    return name


def build_sdist(sdist_directory, config_settings=None):
    del config_settings
    base = "%s-%s" % (NAME, VERSION)
    root, scripts = _sources()
    entries = [("pyproject.toml", os.path.join(HERE, "pyproject.toml")),
               ("relocate_stubs.py", os.path.join(HERE, "relocate_stubs.py")),
               ("build_backend/unified_directory_backend.py",
                os.path.abspath(__file__)),
               ("%s/google_rpc_protos.py" % SDIST_EXTRAS,
                os.path.join(scripts, "google_rpc_protos.py"))]
    entries += [("%s/%s" % (SDIST_EXTRAS, p), os.path.join(root, p))
                for p in PROTOS]
    src = os.path.join(HERE, NAME)
    entries += [("%s/%s" % (NAME, n), os.path.join(src, n))
                for n in sorted(os.listdir(src))
                if n.endswith((".py", ".pyi")) or n == "py.typed"]
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as sdist:
        for arcname, disk in entries:
            sdist.add(disk, arcname="%s/%s" % (base, arcname))
        pkg_info = io.BytesIO(_metadata())
        info = tarfile.TarInfo("%s/PKG-INFO" % base)
        info.size = len(pkg_info.getvalue())
        sdist.addfile(info, pkg_info)
    return name
