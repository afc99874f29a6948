"""The external repositories a workspace using this one needs, offline.

A user's WORKSPACE (docs/embedding.md):

    local_repository(name = "podio_directory", path = "...")
    load("@podio_directory//tools/build_defs:repositories.bzl",
         "podio_directory_repositories")
    podio_directory_repositories()

declares what Bazel 4.2.3 would otherwise download (rules_cc, platforms,
rules_java, remote_coverage_tools) from the copies this repository's own
WORKSPACE uses. System libraries need no repository: they are targets of
@podio_directory//tools/deps, installed by tools/setup.
"""

def _linked_repository_impl(rctx):
    # This repository's root, wherever the user's WORKSPACE put it.
    root = rctx.path(Label("//:WORKSPACE")).dirname
    path = rctx.attr.path
    source = rctx.path(path if path.startswith("/") else "%s/%s" % (root, path))
    if not source.exists:
        fail("%s: %s does not exist" % (rctx.name, source))
    for child in source.readdir():
        rctx.symlink(child, child.basename)

_linked_repository = repository_rule(
    implementation = _linked_repository_impl,
    attrs = {
        # Absolute, or relative to this repository's root.
        "path": attr.string(mandatory = True),
    },
    local = True,
)

def podio_directory_repositories():
    """Declares the repositories above unless the WORKSPACE already has them."""
    repos = {
        "rules_cc": "tools/bazel/rules_cc",
        "platforms": "/usr/share/bazel/tools/platforms",
        "rules_java": "/usr/share/bazel/rules/java",
        "remote_coverage_tools": "tools/bazel/remote_coverage_tools",
    }
    for name, path in repos.items():
        if not native.existing_rule(name):
            _linked_repository(name = name, path = path)
