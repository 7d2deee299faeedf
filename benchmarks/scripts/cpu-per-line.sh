#!/usr/bin/env bash
# Server CPU time (user+sys, from /proc/PID/stat) per echoed line, a measure that holds on a loaded machine where
# wall-clock throughput does not. Usage: benchmarks/scripts/cpu-per-line.sh SERVER [connections] [outstanding] [seconds] [wrap]
# SERVER is an EchoServerCatalog name (RawPipelines, RxStreamsPush, RxStreamsPull, Kestrel, NetworkStream);
# WRAP, if given, prefixes the server command (e.g. "strace -c -f -o strace.txt"). Build Release first.
set -euo pipefail
server=${1:?server name}; connections=${2:-1}; outstanding=${3:-64}; seconds=${4:-5}; wrap=${5:-}
root=$(cd "$(dirname "$0")/../.." && pwd)
bench="$root/benchmarks/RxStreams.Benchmarks/bin/Release/net10.0/RxStreams.Benchmarks.dll"
work=$(mktemp -d)
trap 'exec 3>&-; wait 2>/dev/null || true; rm -rf "$work"' EXIT # || true: set -e would end the trap before rm
mkfifo "$work/in"
# shellcheck disable=SC2086
$wrap dotnet "$bench" --serve "$server" lines <"$work/in" >"$work/out" 2>&1 &
exec 3>"$work/in"
for _ in $(seq 100); do grep -q 'serving on' "$work/out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/out")
pid=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$work/out")
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
# Warm up (JIT, tiering), then measure.
dotnet "$bench" --load "$port" "$connections" "$outstanding" 2 >/dev/null
stats() { echo >&3; for _ in $(seq 50); do [ "$(grep -c '^stats:' "$work/out")" -ge "$1" ] && break; sleep 0.1; done
  grep '^stats:' "$work/out" | sed -n "$1p"; }
before_stats=$(stats 1)
before=$(ticks)
total=$(dotnet "$bench" --load "$port" "$connections" "$outstanding" "$seconds" | sed -n 's/^total \([0-9,]*\) lines.*/\1/p' | tr -d ,)
after=$(ticks)
after_stats=$(stats 2)
hz=$(getconf CLK_TCK)
field() { echo "$1" | sed -n "s/.*$2=\([0-9]*\).*/\1/p"; }
alloc=$(( $(field "$after_stats" allocated) - $(field "$before_stats" allocated) ))
gcs=$(( $(field "$after_stats" gen0) - $(field "$before_stats" gen0) ))
awk -v s="$server" -v t=$((after - before)) -v hz="$hz" -v n="$total" -v a="$alloc" -v g="$gcs" \
  'BEGIN { printf "%s: %d lines, server CPU %.2f s, %.3f us/line, %.1f B allocated/line, %d gen0 GCs\n", s, n, t / hz, t / hz / n * 1e6, a / n, g }'
