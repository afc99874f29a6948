"""One macro that turns .proto files into C++ message + gRPC targets and a descriptor set.

Code generation is a genrule around Debian's /usr/bin/protoc and /usr/bin/grpc_cpp_plugin,
so nothing is downloaded. Import paths are rooted, in this order, at:
  1. $(GENDIR)/tools/protos  protos extracted from system packages (google/rpc, grpc/...)
  2. the repository root      our own protos, imported as "proto/unified/v1/x.proto"
  3. /usr/include             protobuf's well-known types (google/protobuf/*.proto)
Both roots are this repository's, also when another workspace uses it as an
external repository (docs/embedding.md): then they are under external/<name>.
"""

_SYSTEM_PROTO_PKG = "tools/protos"

def repo_root():
    """The calling package's repository root in the execution root.

    "" for the main repository, "external/<name>" for an external one.
    """
    repo = native.repository_name().lstrip("@")
    return "external/" + repo if repo else ""

def source_root():
    """Where the calling repository's sources are, for -I flags: "." or external/<name>."""
    return repo_root() or "."

def gen_root():
    """$(GENDIR) of the calling repository: where its generated files go."""
    root = repo_root()
    return "$(GENDIR)/" + root if root else "$(GENDIR)"

def cc_grpc_proto_library(name, srcs, deps = [], visibility = None, testonly = False):
    """Generates C++ code for `srcs` (all in this package).

    Creates:
      <name>                 cc_library with the messages and gRPC stubs
      <name>_protos          filegroup: srcs plus every transitive dependency's sources
      <name>_descriptor_set  FileDescriptorSet (with imports and source info) as <name>.pb

    Args:
      name: target name.
      srcs: .proto files of this package.
      deps: other cc_grpc_proto_library targets that srcs import.
      visibility: visibility of the generated targets.
      testonly: as for any rule.
    """
    pkg = native.package_name()
    system = pkg == _SYSTEM_PROTO_PKG
    stems = [s[:-len(".proto")] for s in srcs]
    outs = []
    for stem in stems:
        outs += [stem + ".pb.h", stem + ".pb.cc", stem + ".grpc.pb.h", stem + ".grpc.pb.cc"]

    native.filegroup(
        name = name + "_protos",
        srcs = srcs + [d + "_protos" for d in deps],
        visibility = visibility,
        testonly = testonly,
    )

    out_root = gen_root() + "/" + _SYSTEM_PROTO_PKG if system else gen_root()
    uses_system = system or [d for d in deps if d.startswith("//" + _SYSTEM_PROTO_PKG)]
    # System protos import only each other and well-known types.
    includes = "-I/usr/include" if system else "-I%s -I/usr/include" % source_root()
    if uses_system:
        includes = "-I%s/%s %s" % (gen_root(), _SYSTEM_PROTO_PKG, includes)
    inputs = " ".join(["$(location %s)" % s for s in srcs])

    native.genrule(
        name = name + "_codegen",
        srcs = srcs + [":" + name + "_protos"],
        outs = outs,
        cmd = ("/usr/bin/protoc %s --cpp_out=%s --grpc_out=%s " +
               "--plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin %s") %
              (includes, out_root, out_root, inputs),
        testonly = testonly,
        visibility = ["//visibility:private"],
    )

    native.genrule(
        name = name + "_descriptor_set",
        srcs = srcs + [":" + name + "_protos"],
        outs = [name + ".pb"],
        cmd = ("/usr/bin/protoc %s --include_imports --include_source_info " +
               "--descriptor_set_out=$@ %s") % (includes, inputs),
        testonly = testonly,
        visibility = visibility,
    )

    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        includes = ["."] if system else [],
        deps = deps + ["//tools/deps:grpc++"],
        visibility = visibility,
        testonly = testonly,
    )
