#!/usr/bin/env bash
# B2: instructions per user record (callgrind) of parse + map + serialize
# against RapidJSON parsing the same page in situ, as the connector parses
# (json::ParseOwned); the difference of two iteration counts cancels
# start-up costs. Also prints the figure against RapidJSON's copying Parse,
# the earlier baseline, for comparison. Prints BENCH lines
# (tools/bench/report.h) for tools/bench/run.
set -euo pipefail
cd "$(dirname "$0")/../.."
bazel build -c opt //tools/bench:mapper_cost >/dev/null 2>&1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A copy: bazel-bin follows whichever build ran last, and another build
# (a fastbuild test) may run while this one counts.
cp "$(bazel info -c opt bazel-bin 2>/dev/null)/tools/bench/mapper_cost" \
  "$work/mapper_cost"
bin="$work/mapper_cost"
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
for mode in parse parse_copy sax full dom remote trimmed masked masked_util; do
  a=$(instructions "$mode" $low)
  b=$(instructions "$mode" $high)
  per_record[$mode]=$(( (b - a) / ((high - low) * records) ))
done
echo "instructions per user record (callgrind, page of $records org members):"
echo "  RapidJSON parse in situ        ${per_record[parse]}"
echo "  RapidJSON copying parse        ${per_record[parse_copy]}"
echo "  RapidJSON in situ, no DOM      ${per_record[sax]} (a SAX mapper's floor)"
echo "  parse + map + serialize        ${per_record[full]}"
awk -v f="${per_record[full]}" -v p="${per_record[parse]}" \
  'BEGIN { printf "  ratio to in situ               %.2f (target <= 1.8)\n", f / p }'
awk -v f="${per_record[full]}" -v p="${per_record[parse_copy]}" \
  'BEGIN { printf "  ratio to copying parse         %.2f (earlier baseline)\n", f / p }'
echo "  the same through a document (ParseOwned, then each row mapped):"
echo "  parse + map + serialize        ${per_record[dom]}"
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

bench() {  # name figure baseline baseline_name target bound
  awk -v n="$1" -v f="$2" -v b="$3" -v bn="$4" -v t="$5" -v bound="$6" \
    'BEGIN {
       r = f / b
       if (t == "") { tgt = "\"\""; holds = "null" }
       else { tgt = "\"<= " bound "\""; holds = (r <= bound) ? "true" : "false" }
       printf "BENCH {\"name\":\"%s\",\"figure\":%d,\"unit\":\"instructions/record\",\"baseline\":%d,\"baseline_name\":\"%s\",\"ratio\":%.4f,\"target\":%s,\"holds\":%s}\n", n, f, b, bn, r, tgt, holds
     }'
}
bench "B2 parse + map + serialize" "${per_record[full]}" \
  "${per_record[parse]}" "RapidJSON in-situ parse of the same page" le 1.8
bench "B2 (earlier baseline) parse + map + serialize" "${per_record[full]}" \
  "${per_record[parse_copy]}" "RapidJSON copying parse of the same page" "" 0
bench "B2 through a document (the single views' route)" "${per_record[dom]}" \
  "${per_record[parse]}" "RapidJSON in-situ parse of the same page" "" 0
bench "RapidJSON in-situ parse building no DOM (a SAX mapper's floor)" \
  "${per_record[sax]}" "${per_record[parse]}" \
  "RapidJSON in-situ parse of the same page" "" 0
bench "read mask id,name,emails: mapper skips remote_data" \
  "${per_record[masked]}" "${per_record[trimmed]}" \
  "remote_data mapped, then trimmed" "" 0
bench "read mask compiled once per page" "${per_record[masked]}" \
  "${per_record[masked_util]}" "FieldMaskUtil::TrimMessage per record" "" 0
