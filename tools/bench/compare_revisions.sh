#!/usr/bin/env bash
# Runs one benchmark built from an earlier revision and from this tree, side
# by side, alternately, on this machine in one run: the way a change's effect
# is measured when the code it replaced no longer exists in the tree.
#
#   tools/bench/compare_revisions.sh BASE_REV TARGET [ROUNDS] [-- ARGS...]
#
# BASE_REV is checked out in a git worktree of its own (kept for reuse). This tree's
# tools/podio_sim, tools/scim_sim and tools/bench are laid over it, so both
# sides run the same simulator and the same benchmark driver and differ only
# in the service and connector code measured. Each is built with -c opt;
# then ROUNDS rounds (default 3) run the base, then this tree, printing each
# output under a "== base" or "== this tree" heading.
set -euo pipefail
cd "$(dirname "$0")/../.."
base_rev=$1
target=$2
shift 2
rounds=3
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
  rounds=$1
  shift
fi
[ "${1:-}" = "--" ] && shift
args=("$@")

# The base's worktree stays (under the system's temp dir, one per
# revision) so that a second run reuses its Bazel outputs.
base_sha=$(git rev-parse "$base_rev")
work="${TMPDIR:-/tmp}/compare_revisions/$base_sha"
if [ ! -d "$work/base" ]; then
  mkdir -p "$work"
  git worktree prune
  git worktree add --detach "$work/base" "$base_sha" >/dev/null
fi
for dir in tools/podio_sim tools/scim_sim tools/bench; do
  rm -rf "${work:?}/base/$dir"
  cp -r "$dir" "$work/base/$dir"
done
# The Node packages are not in git: the base uses this tree's.
for dir in tools/clients/node tools/conformance/scimmy; do
  if [ -d "$dir/node_modules" ] && [ -d "$work/base/$dir" ]; then
    ln -sfn "$PWD/$dir/node_modules" "$work/base/$dir/node_modules"
  fi
done

build() {  # build DIR -> prints the binary's path
  (cd "$1" && bazel build -c opt "//tools/bench:$target" >&2 &&
   echo "$(bazel info -c opt bazel-bin 2>/dev/null)/tools/bench/$target")
}
base_bin=$(build "$work/base")
this_bin=$(build "$PWD")
# Each runs from its runfiles, as `bazel run` would (benchmarks that start
# the server find it there).
run() {  # run BINARY ARGS...
  local bin=$1
  shift
  (cd "$bin.runfiles/podio_directory" && "$bin" "$@")
}
echo "compare_revisions: //tools/bench:$target ${args[*]}, base $(git rev-parse --short "$base_rev"), this tree $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes'), $rounds rounds"
for round in $(seq 1 "$rounds"); do
  echo "== base, round $round"
  run "$base_bin" "${args[@]}"
  echo "== this tree, round $round"
  run "$this_bin" "${args[@]}"
done
