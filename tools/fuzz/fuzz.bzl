"""Fuzz targets: one source, two builds.

cc_fuzz_target(name, srcs, deps, seeds) creates
  <name>            a cc_test running the target over `seeds` and 20,000
                    deterministic mutations (tools/fuzz/driver.cc); part of
                    `bazel test //...`, also under --config=asan.
  <name>_libfuzzer  a libFuzzer binary (tags = ["manual"]); build it with
                    `bazel build --config=fuzz //tests/fuzz:<name>_libfuzzer`
                    (clang) and run it with a corpus directory.
"""

def cc_fuzz_target(name, srcs, deps = [], seeds = []):
    native.cc_test(
        name = name,
        size = "small",
        srcs = srcs + ["//tools/fuzz:driver.cc"],
        args = ["$(location %s)" % s for s in seeds],
        data = seeds,
        deps = deps,
    )
    native.cc_binary(
        name = name + "_libfuzzer",
        srcs = srcs,
        copts = ["-fsanitize=fuzzer"],
        linkopts = ["-fsanitize=fuzzer"],
        deps = deps,
        tags = ["manual"],
        testonly = True,
    )
