#!/usr/bin/env bash
# Echo throughput and server CPU per operation with server and load generator in separate processes, as an outside
# harness runs them, for each load shape against the first server (the raw Socket + Pipelines line-echo floor).
# Each round runs every shape on every server in turn (the server order reverses every other round); a shape's ratio
# is the median over rounds of the server's rate / the floor's rate in the same round, and server CPU per operation
# is the server process's utime + stime (/proc/PID/stat) across the measured load divided by its operations (per MB
# for bulk), median over rounds.
# Usage: benchmarks/scripts/separate-process-ratio.sh [seconds] [rounds] [shape...]
#   shape: a LoadShapes name (benchmarks/RxStreams.Benchmarks/Clients/LoadShapes.cs); default: c1 c50 pingpong
#          bulk-lines connect8 (line echo 1 x 64 outstanding, 50 x 16, ping-pong, 16 KiB lines, connect-echo-close)
#   SERVERS="RawPipelines Cli"    floor first; EchoServerCatalog names, Cli for `rxstreams echo --lines` itself, or
#                                 Cli:VAR=value for the CLI with one environment variable set
#   CLI_BEFORE=PATH/RxStreams.Cli.dll  adds the server name CliBefore: another build of the CLI (an earlier commit's,
#                                 from `git worktree add`), measured in the same alternating rounds for before/after
#   RXSTREAMS_BENCH_BULK_MIB=256  MiB per bulk run (the outside harness sends 512)
# Build Release first: dotnet build RxStreams.sln -c Release.
set -euo pipefail
seconds=${1:-5}; rounds=${2:-3}; shift $(( $# < 2 ? $# : 2 ))
shapes=("$@"); [ ${#shapes[@]} -gt 0 ] || shapes=(c1 c50 pingpong bulk-lines connect8)
read -r -a servers <<<"${SERVERS:-RawPipelines Cli}"
floor=${servers[0]}
root=$(cd "$(dirname "$0")/../.." && pwd)
bench="$root/benchmarks/RxStreams.Benchmarks/bin/Release/net10.0/RxStreams.Benchmarks.dll"
cli="$root/src/RxStreams.Cli/bin/Release/net10.0/RxStreams.Cli.dll"
hz=$(getconf CLK_TCK)
work=$(mktemp -d)
# (|| true: under set -e a failing command in the trap would end it before the clean-up.)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

# shellcheck source=servers.sh
source "$(dirname "$0")/servers.sh"

declare -A rate cpu unit description
for round in $(seq "$rounds"); do
  order=("${servers[@]}")
  if (( round % 2 == 0 )); then order=(); for (( i = ${#servers[@]} - 1; i >= 0; i-- )); do order+=("${servers[i]}"); done; fi
  for shape in "${shapes[@]}"; do
    for server in "${order[@]}"; do
      if [[ "$server" = Cli* ]] && [ "$shape" = bulk-raw ]; then continue; fi # the CLI echoes lines only
      start "$server" "$shape"
      dotnet "$bench" --shape "$shape" "$port" 1 >/dev/null # warm-up: JIT and tiering
      before=$(ticks)
      result=$(dotnet "$bench" --shape "$shape" "$port" "$seconds" | grep '^result:')
      after=$(ticks)
      stop
      ops=$(field operations "$result"); elapsed=$(field seconds "$result"); unit[$shape]=$(field unit "$result" | tr _ ' ')
      description[$shape]=$(sed -n 's/.* description=//p' <<<"$result")
      rate[$shape,$server,$round]=$(awk -v n="$ops" -v s="$elapsed" 'BEGIN { printf "%.6f", n / s }')
      cpu[$shape,$server,$round]=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$ops" 'BEGIN { printf "%.9f", t / hz / n }')
      echo "round $round $shape $server: ${rate[$shape,$server,$round]} ${unit[$shape]}/s, server CPU $((after - before)) ticks" >&2
    done
  done
done

median() { tr ' ' '\n' | { grep . || true; } | sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# Seconds per operation as us per line/round trip/connection, or ms per MB.
per_op() { awk -v s="$1" -v u="$2" 'BEGIN { if (s == "") print "n/a"; else if (u == "MB") printf "%.2f ms/MB", s * 1e3; else printf "%.2f us/%s", s * 1e6, u }'; }

echo "separate processes, $rounds alternating rounds of ${seconds} s per shape and server, floor: $floor"
echo "| shape | server | ratio to $floor (median of rounds) | $floor rate (median) | server CPU per op, server vs $floor |"
echo "|---|---|---|---|---|"
for shape in "${shapes[@]}"; do
  floor_rate=$(for r in $(seq "$rounds"); do echo "${rate[$shape,$floor,$r]:-}"; done | tr '\n' ' ' | median)
  floor_cpu=$(for r in $(seq "$rounds"); do echo "${cpu[$shape,$floor,$r]:-}"; done | tr '\n' ' ' | median)
  for server in "${servers[@]:1}"; do
    ratios=""
    for r in $(seq "$rounds"); do
      if [ -n "${rate[$shape,$server,$r]:-}" ]; then
        ratios+=" $(awk -v a="${rate[$shape,$server,$r]}" -v b="${rate[$shape,$floor,$r]}" 'BEGIN { printf "%.4f", a / b }')"
      fi
    done
    ratio=$(echo "$ratios" | median)
    server_cpu=$(for r in $(seq "$rounds"); do echo "${cpu[$shape,$server,$r]:-}"; done | tr '\n' ' ' | median)
    printf '| %s (%s) | %s | %s | %s | %s vs %s |\n' "${description[$shape]}" "$shape" "$server" \
      "$(awk -v x="$ratio" 'BEGIN { if (x == "") print "n/a"; else printf "%.2fx", x }')" \
      "$(awk -v x="$floor_rate" -v u="${unit[$shape]}" 'BEGIN { printf "%.0f %s/s", x, u }')" \
      "$(per_op "$server_cpu" "${unit[$shape]}")" "$(per_op "$floor_cpu" "${unit[$shape]}")"
  done
done
