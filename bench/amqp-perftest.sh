#!/usr/bin/env bash
# RabbitMQ's own PerfTest (com.rabbitmq:perf-test 2.22.1) pointed at Switchboard's AMQP front end
# and at RabbitMQ (Debian's rabbitmq-server), one after the other on this machine, the same
# scenarios: persistent messages to a durable queue, publisher confirms, consumers with acks.
#
#   bench/amqp-perftest.sh                 # 20 s per scenario
#   bench/amqp-perftest.sh --seconds 60
#
# Prints one line per run (broker, scenario, sent/received msg/s, consumer latency percentiles)
# and leaves PerfTest's full output under $PERFTEST_WORK (default: a temporary directory).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds=20
if [ "${1:-}" = --seconds ]; then seconds="$2"; fi

work="${PERFTEST_WORK:-$(mktemp -d -t switchboard-perftest.XXXXXX)}"
mkdir -p "$work"
libs="$work/perftest-libs"
if [ ! -f "$libs/perf-test-2.22.1.jar" ]; then
  echo "perftest: fetching PerfTest's jars into $libs" >&2
  ./build -q -f bench/perftest/pom.xml dependency:copy-dependencies -DoutputDirectory="$libs" >&2
fi
JAVA_HOME=$(bin/find-jdk)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
await_port() { # port seconds
  for _ in $(seq 1 $(( $2 * 10 ))); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "perftest: nothing listens on $1" >&2; return 1
}
pids=()
cleanup() { for p in "${pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# Scenarios: name and PerfTest arguments (all persistent, confirms, manual acks).
scenarios=(
  "1p1c-100B-q50|-x 1 -y 1 -s 100 -c 50 -q 50"
  "1p1c-1KiB-q50|-x 1 -y 1 -s 1024 -c 50 -q 50"
  "4p4c-100B-q1000|-x 4 -y 4 -s 100 -c 1000 -q 1000"
  "4p4c-1KiB-q1000|-x 4 -y 4 -s 1024 -c 1000 -q 1000"
  "4p1c-100B-q1000|-x 4 -y 1 -s 100 -c 1000 -q 1000"
)

run() { # broker-label port
  local label="$1" port="$2"
  for s in "${scenarios[@]}"; do
    local name="${s%%|*}" args="${s#*|}" out="$work/$label-${s%%|*}.txt"
    # shellcheck disable=SC2086
    "$JAVA_HOME/bin/java" -Xmx1g -cp "$libs/*" com.rabbitmq.perf.PerfTest \
      -h "amqp://guest:guest@127.0.0.1:$port" $args -f persistent -u "perf-$name" -ad false \
      -z "$seconds" > "$out" 2>&1 || true
    local rates latency
    rates=$(grep -E "sending rate avg|receiving rate avg" "$out" | sed -E 's/.*(sending|receiving) rate avg: ([0-9]+).*/\1 \2/' | tr '\n' ' ')
    latency=$(grep -E "consumer latency min/median/75th/95th/99th" "$out" | tail -1 | sed -E 's/.*99th (.*)/\1/')
    echo "$label | $name | $rates| consumer latency min/median/75th/95th/99th $latency"
  done
}

# --- Switchboard, default (interval fsync) and amqp.queue-fsync=always
for fsync in interval always; do
  port=$(free_port)
  dir="$work/switchboard-$fsync"
  mkdir -p "$dir"
  ./switchboard server --data "$dir/data" --port 0 --set "amqp.port=$port" --set http.port=0 \
    --set mqtt.port=0 --set kafka.port=0 --set grpc.port=-1 --set "amqp.queue-fsync=$fsync" > "$dir/server.log" 2>&1 &
  pids+=($!)
  await_port "$port" 120
  run "Switchboard (queue fsync $fsync)" "$port"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
done

# --- RabbitMQ (its own epmd, files under the work directory; as bench/compare.sh starts it)
rdir="$work/rabbitmq"
mkdir -p "$rdir/home"
rport=$(free_port); dist=$(free_port); epmd_port=$(free_port)
printf 'listeners.tcp.1 = 127.0.0.1:%s\nloopback_users = none\n' "$rport" > "$rdir/rabbitmq.conf"
echo '[].' > "$rdir/enabled_plugins"
ERL_EPMD_ADDRESS=127.0.0.1 epmd -port "$epmd_port" > "$rdir/epmd.log" 2>&1 &
pids+=($!)
HOME="$rdir/home" RABBITMQ_NODENAME=sbperf@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
  RABBITMQ_NODE_PORT="$rport" RABBITMQ_DIST_PORT="$dist" ERL_EPMD_PORT="$epmd_port" \
  ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_MNESIA_BASE="$rdir/mnesia" RABBITMQ_LOG_BASE="$rdir/log" \
  RABBITMQ_CONFIG_FILE="$rdir/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$rdir/enabled_plugins" \
  RABBITMQ_PID_FILE="$rdir/rabbitmq.pid" /usr/lib/rabbitmq/bin/rabbitmq-server > "$rdir/server.log" 2>&1 &
pids+=($!)
await_port "$rport" 120
run "RabbitMQ $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null)" "$rport"
echo "perftest: outputs in $work" >&2
