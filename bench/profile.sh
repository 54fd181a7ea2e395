#!/usr/bin/env bash
# Profiles the server under one `switchboard bench` load with JDK Flight Recorder: starts a
# server with its data in a temporary directory, runs the bench with the arguments given, stops
# the server (SIGTERM by PID, which writes the recording), then prints how the CPU time split
# between server and load generator and the server's hottest methods.
#
#   bench/profile.sh --mode pub --size 100 --stream BENCH --duration 20s --warmup 5s
#   bench/profile.sh --mode queue --consumers 1 --rate 10000 --size 1024 --duration 20s
#
# Output (recording, bench report, server log) stays in $PROFILE_OUT (default: a temporary dir).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="${PROFILE_OUT:-$(mktemp -d -t switchboard-profile.XXXXXX)}"
mkdir -p "$out"
JAVA_HOME=$(bin/find-jdk)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
./switchboard --help >/dev/null # builds the command line if needed

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

SWITCHBOARD_JAVA_OPTS="${SWITCHBOARD_JAVA_OPTS:-} -XX:StartFlightRecording=filename=$out/server.jfr,settings=profile,dumponexit=true" \
  ./switchboard server --data "$out/data" --port "$port" --set http.port=-1 --set mqtt.port=-1 \
  > "$out/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
before=$(cpu_ticks "$server")
start=$(date +%s.%N)
./switchboard bench --server "127.0.0.1:$port" "$@" > "$out/bench.txt" 2> "$out/bench.err" &
bench=$!
# The bench's own CPU time, read just before it exits.
bench_ticks=0
while kill -0 "$bench" 2>/dev/null; do
  t=$(cpu_ticks "$bench" 2>/dev/null || echo "$bench_ticks")
  bench_ticks=$t
  sleep 0.5
done
wait "$bench" || true
end=$(date +%s.%N)
after=$(cpu_ticks "$server")
kill -TERM "$server"
wait "$server" || true
trap - EXIT

hz=$(getconf CLK_TCK)
python3 - "$before" "$after" "$bench_ticks" "$hz" "$start" "$end" "$(nproc)" <<'PY'
import sys
b, a, bt, hz, s, e, n = map(float, sys.argv[1:])
wall = e - s
print(f"wall {wall:.1f} s on {int(n)} cores: server {(a-b)/hz:.1f} s CPU ({(a-b)/hz/wall:.0%} of one core), "
      f"load generator {bt/hz:.1f} s CPU ({bt/hz/wall:.0%} of one core)")
PY
cat "$out/bench.txt"
"$JAVA_HOME/bin/jfr" view --width 160 hot-methods "$out/server.jfr" | head -40
echo "recording: $out/server.jfr"
