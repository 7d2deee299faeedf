#!/usr/bin/env bash
# Syscalls and context switches per echoed line, server side, for the floor and RxStreams, with the load generator in
# its own process (the shapes of separate-process-ratio.sh). Per server and shape, two measured runs after a warm-up:
#   1. plain: lines echoed, server CPU (utime + stime from /proc/PID/stat) and context switches (voluntary and
#      involuntary, summed over /proc/PID/task/*/status) across the run, divided by the lines echoed;
#   2. under `strace -f -c -p PID` (attached after the warm-up, detached after the run): syscall counts divided by the
#      lines echoed in that run (strace slows the server; the counts per line are what it is for, not the rate).
# Usage: benchmarks/scripts/syscalls-per-line.sh [seconds] [shape...]     (default: 5 s, shapes c1 c50)
#   SERVERS="RawPipelines Cli"   EchoServerCatalog names, Cli for `rxstreams echo --lines`, or Cli:VAR=value for the
#                                CLI with one environment variable set (e.g. Cli:RXSTREAMS_CHANNEL=eventloop)
#   KEEP=DIR                     keeps each strace summary in DIR
# Build Release first: dotnet build RxStreams.sln -c Release. Needs strace (ptrace allowed on own processes).
set -euo pipefail
seconds=${1:-5}; shift $(( $# < 1 ? $# : 1 ))
shapes=("$@"); [ ${#shapes[@]} -gt 0 ] || shapes=(c1 c50)
read -r -a servers <<<"${SERVERS:-RawPipelines Cli}"
root=$(cd "$(dirname "$0")/../.." && pwd)
bench="$root/benchmarks/RxStreams.Benchmarks/bin/Release/net10.0/RxStreams.Benchmarks.dll"
cli="$root/src/RxStreams.Cli/bin/Release/net10.0/RxStreams.Cli.dll"
hz=$(getconf CLK_TCK)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

# shellcheck source=servers.sh
source "$(dirname "$0")/servers.sh"
# Context switches of every thread alive now: "voluntary involuntary".
switches() { cat /proc/"$server_pid"/task/*/status 2>/dev/null |
  awk '/^voluntary_ctxt_switches/ { v += $2 } /^nonvoluntary_ctxt_switches/ { n += $2 } END { print v + 0, n + 0 }'; }
load() { dotnet "$bench" --shape "$1" "$port" "$2" | grep '^result:'; }
# Calls of one syscall (or a |-separated group) in a strace -c summary.
# (strace -c columns: % time, seconds, usecs/call, calls, [errors], syscall.)
calls() { awk -v re="^($2)\$" '$NF ~ re { n += $4 } END { print n + 0 }' "$1"; }
total_calls() { awk '$NF == "total" { print $4 }' "$1"; }
per() { awk -v a="$1" -v n="$2" 'BEGIN { printf "%.3f", a / n }'; }

echo "server-side syscalls and context switches per echoed line; ${seconds} s per run; load: $(uptime | sed 's/.*load average: //')"
echo "| shape | server | lines/s | CPU us/line | ctx switches/line (vol + invol) | syscalls/line (strace) | futex | epoll_wait | epoll_ctl | recv* | send* | sched_yield |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for shape in "${shapes[@]}"; do
  for server in "${servers[@]}"; do
    start "$server"
    load "$shape" 1 >/dev/null # warm-up: JIT and tiering
    read -r v0 n0 < <(switches); t0=$(ticks)
    result=$(load "$shape" "$seconds")
    read -r v1 n1 < <(switches); t1=$(ticks)
    lines=$(field operations "$result"); elapsed=$(field seconds "$result")
    strace -f -c -p "$server_pid" -o "$work/strace.txt" 2>/dev/null & tracer=$!
    sleep 1 # attached to every thread before the load starts
    traced=$(load "$shape" "$seconds")
    kill -INT "$tracer"; wait "$tracer" 2>/dev/null || true
    stop
    traced_lines=$(field operations "$traced")
    [ -z "${KEEP:-}" ] || cp "$work/strace.txt" "$KEEP/strace-$shape-${server//[:=]/-}.txt"
    s="$work/strace.txt"
    printf '| %s | %s | %.0f | %.3f | %s + %s | %s | %s | %s | %s | %s | %s | %s |\n' "$shape" "$server" \
      "$(awk -v n="$lines" -v s="$elapsed" 'BEGIN { print n / s }')" \
      "$(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$lines" 'BEGIN { print t / hz / n * 1e6 }')" \
      "$(per $((v1 - v0)) "$lines")" "$(per $((n1 - n0)) "$lines")" \
      "$(per "$(total_calls "$s")" "$traced_lines")" "$(per "$(calls "$s" futex)" "$traced_lines")" \
      "$(per "$(calls "$s" epoll_wait)" "$traced_lines")" "$(per "$(calls "$s" epoll_ctl)" "$traced_lines")" \
      "$(per "$(calls "$s" 'recvfrom|recvmsg|read|recv')" "$traced_lines")" \
      "$(per "$(calls "$s" 'sendto|sendmsg|write|send')" "$traced_lines")" "$(per "$(calls "$s" sched_yield)" "$traced_lines")"
  done
done
