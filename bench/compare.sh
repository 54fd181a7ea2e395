#!/usr/bin/env bash
# The side-by-side suite (docs/benchmarks.md, issue #7): Switchboard, Kafka, RabbitMQ, NATS and
# Mosquitto, each in turn on this machine, the same workloads, results written into
# docs/benchmarks.md (newest run first) with charts under docs/img/.
#
#   bench/compare.sh                          # everything: about 30 minutes
#   bench/compare.sh --seconds 10             # shorter measured windows (default 30 s each)
#   bench/compare.sh --brokers switchboard,nats --workloads 5a,5b,7
#
# Installs what it needs: Debian packages (as root) and Kafka's jars from Maven Central.
# Keeps each broker's data in a fresh directory under $COMPARE_WORK (default: a temporary one).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

declare -A packages=([mosquitto]=mosquitto [nats-server]=nats-server
  [/usr/lib/rabbitmq/bin/rabbitmq-server]=rabbitmq-server [epmd]=erlang-base)
missing=()
for cmd in "${!packages[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${packages[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "compare: install as root first: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "compare: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

work="${COMPARE_WORK:-$(mktemp -d -t switchboard-compare.XXXXXX)}"
mkdir -p "$work"
kafka_libs="$work/kafka-libs"
if [ ! -f "$kafka_libs/kafka-tools-4.4.0.jar" ]; then
  echo "compare: fetching Kafka's jars into $kafka_libs" >&2
  ./build -q -f bench/kafka/pom.xml dependency:copy-dependencies \
    -DoutputDirectory="$kafka_libs" >&2
fi

echo "compare: building Switchboard and the suite" >&2
./build -q -DskipTests -Dspotless.check.skip=true -pl switchboard-cli,switchboard-bench -am package >&2

JAVA_HOME=$(bin/find-jdk)
exec "$JAVA_HOME/bin/java" -Xmx2g --enable-native-access=ALL-UNNAMED \
  -cp "switchboard-bench/target/switchboard-bench.jar:switchboard-bench/target/lib/*" \
  io.switchboard.bench.compare.Compare \
  --root "$root" --kafka-libs "$kafka_libs" --work "$work" \
  --command "bench/compare.sh $*" "$@"
