#!/usr/bin/env bash
# The HTTP front end's benchmarks (docs/benchmarks.md, issue #5): publish throughput over
# keep-alive HTTP with wrk, and SSE fan-out latency with many event streams. Prints a Markdown
# section on stdout (progress on stderr).
#
#   bench/http.sh                                  # 20 s windows; SSE 1000 clients x 1000 msg/s
#   bench/http.sh --seconds 10 --sse 100x1000,1000x100,1000x1000   # clients x msg/s, one run each
#   bench/http.sh --parts sse                       # only the SSE part (or: --parts publish)
#
# BENCH_JAVA_OPTS adds JVM flags to the load generator (SWITCHBOARD_JAVA_OPTS: to the server),
# e.g. a JFR recording. Installs wrk from Debian when missing (as root). Starts Switchboard with its launcher on free
# loopback ports with data in a fresh directory and stops it by PID.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "http bench: install wrk first: apt-get install -y wrk" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends wrk >&2
fi
work="${BENCH_WORK:-$(mktemp -d -t switchboard-http-bench.XXXXXX)}"
echo "http bench: building Switchboard and the bench module" >&2
./build -q -DskipTests -Dspotless.check.skip=true -pl switchboard-cli,switchboard-bench -am package >&2
JAVA_HOME=$(bin/find-jdk)
exec "$JAVA_HOME/bin/java" -Xmx2g --enable-native-access=ALL-UNNAMED \
  --sun-misc-unsafe-memory-access=allow ${BENCH_JAVA_OPTS:-} \
  -cp "switchboard-bench/target/switchboard-bench.jar:switchboard-bench/target/lib/*" \
  io.switchboard.bench.compare.HttpBench \
  --root "$root" --work "$work" --command "bench/http.sh $*" "$@"
