"""The package's own C++ sources as one filegroup, for the tests that read
the code itself (tests/service: layers, error reasons, sizes)."""

def sources_filegroup():
    native.filegroup(
        name = "sources",
        srcs = native.glob([
            "*.cc",
            "*.h",
        ]),
        visibility = ["//tests:__subpackages__"],
    )
