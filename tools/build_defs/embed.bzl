"""embed_files: files (templates, scripts, styles) compiled into a binary.

A genrule writes a C++ source defining
`absl::string_view <function>(absl::string_view base_name)` in `namespace`
(tools/build_defs/embed_files.py); declare it in a header of your own.
"""

def embed_files(name, srcs, namespace, function, **kwargs):
    native.genrule(
        name = name + "_cc",
        srcs = srcs,
        outs = [name + ".cc"],
        tools = ["//tools/build_defs:embed_files.py"],
        cmd = "/usr/bin/python3 $(location //tools/build_defs:embed_files.py) $@ %s %s $(SRCS)" % (namespace, function),
    )
    native.cc_library(
        name = name,
        srcs = [name + ".cc"],
        deps = ["//tools/deps:absl"],
        **kwargs
    )
