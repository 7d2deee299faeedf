#!/usr/bin/env bash
# Framing micro-benchmark ratios that survive a busy machine: each round runs every variant of one case in turn (one
# process each, through the benchmark's --framing loop, order reversed every other round), and a variant's ratio is the
# median over rounds of its time per frame / the first variant's in the same round, so load that comes and goes hits
# both sides of each ratio alike. Wall time and the process's CPU time per frame are both reported: under heavy load the
# CPU ratio is the steadier one (the loop warms up for up to a second before either is measured). BenchmarkDotNet
# remains the reference for absolute figures (FramingBenchmarkBase.cs).
# Usage: benchmarks/scripts/framing-ratios.sh CLASS FRAME_SIZE CHUNK_SIZE [seconds] [rounds] [variant...]
#   CLASS: LineFramingBenchmarks, SeparatorFramingBenchmarks, ExactFramingBenchmarks, LengthPrefixedFramingBenchmarks
#   variant: benchmark methods; the first is the baseline; default: SequenceReader RxOperator RxOperatorAsOwned
#   e.g. benchmarks/scripts/framing-ratios.sh LineFramingBenchmarks 64 4096 2 5 PushConnection PullConnection
# Build Release first: dotnet build RxStreams.sln -c Release (or set BENCH_DLL to a copy of the build, to keep editing).
set -euo pipefail
class=$1; frame=$2; chunk=$3; seconds=${4:-2}; rounds=${5:-5}; shift $(( $# < 5 ? $# : 5 ))
variants=("$@"); [ ${#variants[@]} -gt 0 ] || variants=(SequenceReader RxOperator RxOperatorAsOwned)
root=$(cd "$(dirname "$0")/../.." && pwd)
bench=${BENCH_DLL:-"$root/benchmarks/RxStreams.Benchmarks/bin/Release/net10.0/RxStreams.Benchmarks.dll"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for round in $(seq 1 "$rounds"); do
  order=("${variants[@]}")
  if (( round % 2 == 0 )); then
    order=(); for (( i=${#variants[@]}-1; i>=0; i-- )); do order+=("${variants[i]}"); done
  fi
  for variant in "${order[@]}"; do
    line=$(dotnet "$bench" --framing "$class" "$variant" "$frame" "$chunk" "$seconds")
    wall=$(sed -n 's/.*: \([0-9.]*\) ns\/frame.*/\1/p' <<<"$line"); cpu=$(sed -n 's/.*, \([0-9.]*\) CPU ns\/frame/\1/p' <<<"$line")
    echo "$round $variant $wall $cpu" >>"$work/times"
  done
done

echo "$class FrameSize=$frame ChunkSize=$chunk, $rounds rounds of ${seconds}s, baseline ${variants[0]} ($(uptime | sed 's/.*load average: //') load)"
python3 - "$work/times" "${variants[@]}" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
variants = sys.argv[2:]
wall = {(r, v): float(w) for r, v, w, _ in rows}
cpu = {(r, v): float(c) for r, v, _, c in rows}
rounds = sorted({row[0] for row in rows})
for v in variants:
    line = f"  {v:<20}"
    for name, t in (("wall", wall), ("CPU", cpu)):
        ratios = [t[(r, v)] / t[(r, variants[0])] for r in rounds]
        line += f"  {name} {statistics.median(t[(r, v)] for r in rounds):8.2f} ns/frame, ratio {statistics.median(ratios):5.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"
    print(line)
PY
