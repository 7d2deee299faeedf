# Sourced by the separate-process scripts: starting and stopping one server under test, and reading its CPU time.
# Expects: bench (the benchmark dll), cli (the CLI dll), work (a temporary directory); sets port and server_pid.
# Servers: a benchmark server by name (RawPipelines, ...), Cli (rxstreams echo --lines), CliBefore (the CLI at
# CLI_BEFORE), Cli:VAR=value (the CLI with one environment variable set), Cli:--flag (the CLI with one more flag, e.g.
# Cli:--thread-pool for .NET's socket engine instead of the event loops the CLI serves from by default).

# Starts one server for a shape's mode (raw bytes for bulk-raw, lines otherwise). The benchmark's servers run until
# their stdin (a fifo held open by fd 3) closes; the CLI until it is killed.
start() {
  local mode=lines; [ "${2:-}" = bulk-raw ] && mode=bulk
  rm -f "$work/in" "$work/out"; mkfifo "$work/in"
  if [[ "$1" = Cli* ]]; then
    local dll=$cli; [ "$1" = CliBefore ] && dll=${CLI_BEFORE:?CliBefore needs CLI_BEFORE=path to RxStreams.Cli.dll}
    local assignment= flag=; [[ "$1" = Cli:* ]] && assignment=${1#Cli:}
    [[ "$assignment" = --* ]] && { flag=$assignment; assignment=; }
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    env ${assignment:+"$assignment"} dotnet "$dll" echo --host 127.0.0.1 --port "$port" --lines ${flag:+"$flag"} <"$work/in" >"$work/out" 2>&1 &
  else
    dotnet "$bench" --serve "$1" "$mode" <"$work/in" >"$work/out" 2>&1 &
  fi
  server_pid=$!
  exec 3>"$work/in"
  for _ in $(seq 100); do grep -qi 'serving on' "$work/out" 2>/dev/null && break; sleep 0.1; done
  [[ "$1" = Cli* ]] || port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/out")
}
stop() { exec 3>&-; kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
# The server's user + system CPU time, in clock ticks.
ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
# One key=value field of the load generator's result line.
field() { sed -n "s/.*[ :]$1=\([^ ]*\).*/\1/p" <<<"$2"; }
