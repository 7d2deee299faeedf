#!/usr/bin/env bash
# Line-echo throughput with server and load generator in separate processes (as an outside harness runs them),
# as the median of ROUNDS alternating runs per server and its ratio to the raw Socket + Pipelines server.
# Usage: benchmarks/separate-process-ratio.sh [connections] [outstanding] [seconds] [rounds] [servers...]
# Servers are EchoServerCatalog names, or "Cli" for `rxstreams echo --lines` itself. Build Release first
# (dotnet build -c Release benchmarks/RxStreams.Benchmarks src/RxStreams.Cli).
set -euo pipefail
connections=${1:-1}; outstanding=${2:-64}; seconds=${3:-5}; rounds=${4:-3}; shift $(( $# < 4 ? $# : 4 ))
servers=("$@"); [ ${#servers[@]} -gt 0 ] || servers=(RawPipelines RxStreamsPush RxStreamsPull Kestrel Cli)
root=$(cd "$(dirname "$0")/.." && pwd)
bench="$root/benchmarks/RxStreams.Benchmarks/bin/Release/net10.0/RxStreams.Benchmarks.dll"
cli="$root/src/RxStreams.Cli/bin/Release/net10.0/RxStreams.Cli.dll"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

# Starts one server, prints its port; the server runs until its stdin (a fifo held open by fd 3) closes.
start() {
  rm -f "$work/in" "$work/out"; mkfifo "$work/in"
  if [ "$1" = Cli ]; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    dotnet "$cli" echo --host 127.0.0.1 --port "$port" --lines <"$work/in" >"$work/out" 2>&1 &
  else
    dotnet "$bench" --serve "$1" lines <"$work/in" >"$work/out" 2>&1 &
  fi
  server_pid=$!
  exec 3>"$work/in"
  for _ in $(seq 100); do grep -qi 'serving on' "$work/out" 2>/dev/null && break; sleep 0.1; done
  [ "$1" = Cli ] || port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/out")
}
stop() { exec 3>&-; kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }

declare -A rates
for round in $(seq "$rounds"); do
  for server in "${servers[@]}"; do
    start "$server"
    dotnet "$bench" --load "$port" "$connections" "$outstanding" 1 >/dev/null # warm-up: JIT and tiering
    rate=$(dotnet "$bench" --load "$port" "$connections" "$outstanding" "$seconds" | sed -n 's/.*: \([0-9,]*\) lines\/s$/\1/p' | tail -1 | tr -d ,)
    stop
    rates[$server]="${rates[$server]:-} $rate"
    echo "round $round $server: $rate lines/s" >&2
  done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
base=$(echo "${rates[RawPipelines]:-}" | median)
echo "line echo, $connections connection(s) x $outstanding outstanding, ${seconds} s x $rounds rounds, separate processes"
for server in "${servers[@]}"; do
  m=$(echo "${rates[$server]}" | median)
  awk -v s="$server" -v m="$m" -v b="${base:-0}" 'BEGIN { printf "%-14s %10.0f lines/s  %s\n", s, m, (b > 0 ? sprintf("%.2fx", m / b) : "") }'
done
