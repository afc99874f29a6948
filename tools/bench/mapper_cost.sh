#!/usr/bin/env bash
# Instructions per user record (callgrind) of parse + map + serialize against
# RapidJSON parsing alone of the same page; the difference of two iteration
# counts cancels start-up costs.
set -euo pipefail
cd "$(dirname "$0")/../.."
bazel build -c opt //tools/bench:mapper_cost >/dev/null 2>&1
bin=bazel-bin/tools/bench/mapper_cost
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" --dump="$work/page.json"

instructions() {  # mode iterations
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
    "$bin" --input="$work/page.json" --mode="$1" --iterations="$2" \
    >/dev/null 2>&1
  awk '/^summary:/ {print $2}' "$work/cg.out"
}

records=500
low=5
high=25
declare -A per_record
for mode in parse full remote trimmed masked masked_util; do
  a=$(instructions "$mode" $low)
  b=$(instructions "$mode" $high)
  per_record[$mode]=$(( (b - a) / ((high - low) * records) ))
done
echo "instructions per user record (callgrind, page of $records org members):"
echo "  RapidJSON parse alone          ${per_record[parse]}"
echo "  parse + map + serialize        ${per_record[full]}"
awk -v f="${per_record[full]}" -v p="${per_record[parse]}" \
  'BEGIN { printf "  ratio                          %.2f (target <= 1.8)\n", f / p }'
echo "read_mask \"id,name,emails\" with include_remote_data (per record):"
echo "  map remote_data, then trim     ${per_record[trimmed]}"
echo "  mapper skips remote_data       ${per_record[masked]}"
awk -v m="${per_record[masked]}" -v t="${per_record[trimmed]}" \
  'BEGIN { printf "  ratio                          %.2f\n", m / t }'
echo "the same, trimmed by FieldMaskUtil::TrimMessage (per record):"
echo "  mask parsed per record         ${per_record[masked_util]}"
echo "  compiled once per page         ${per_record[masked]}"
awk -v m="${per_record[masked]}" -v u="${per_record[masked_util]}" \
  'BEGIN { printf "  saved %d, ratio %.2f\n", u - m, m / u }'
