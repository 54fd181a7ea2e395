#!/usr/bin/env bash
# The gRPC front end beside the native protocol, one run against one server (docs/benchmarks.md,
# issue 16): streaming and unary publish, consume with an ack each, request/reply round trips.
# Prints a Markdown table on stdout (progress on stderr).
#
#   bench/grpc.sh            # 10 s per publish workload
#   bench/grpc.sh 20
#
# Starts Switchboard with its launcher on free loopback ports with data in a fresh directory and
# stops it by PID.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds="${1:-10}"
work="${BENCH_WORK:-$(mktemp -d -t switchboard-grpc-bench.XXXXXX)}"
echo "grpc bench: building Switchboard and the bench module" >&2
./build -q -DskipTests -Dspotless.check.skip=true -pl switchboard-cli,switchboard-bench -am package >&2
JAVA_HOME=$(bin/find-jdk)
exec "$JAVA_HOME/bin/java" -Xmx2g --enable-native-access=ALL-UNNAMED \
  --sun-misc-unsafe-memory-access=allow ${BENCH_JAVA_OPTS:-} \
  -cp "switchboard-bench/target/switchboard-bench.jar:switchboard-bench/target/lib/*" \
  io.switchboard.bench.compare.GrpcBench "$root" "$work" "$seconds"
