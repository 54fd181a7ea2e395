#!/usr/bin/env bash
# Native publish over TLS beside plain TCP, same server, same run (docs/benchmarks.md, issue 18):
# rounds alternate plain and TLS; throughput with 1000 publishes in flight, each publish's time to
# its ack, and sequential publish latency. Run once with the server's TLS on OpenSSL (BoringSSL,
# netty-tcnative, what `tls.provider=auto` picks where it loads) and once on the JDK provider.
# Prints Markdown tables on stdout (progress on stderr).
#
#   bench/tls.sh            # 5 s per publish round, 6 rounds per provider (after 2 to warm up)
#   bench/tls.sh 10 5
#
# Starts Switchboard with its launcher on free loopback ports with data and a self-signed
# certificate (openssl) in a fresh directory, and stops it by PID.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds="${1:-5}"
rounds="${2:-6}"
work="${BENCH_WORK:-$(mktemp -d -t switchboard-tls-bench.XXXXXX)}"
mkdir -p "$work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
if [ -z "${BENCH_NO_BUILD:-}" ]; then
  echo "tls bench: building Switchboard and the bench module" >&2
  ./build -q -DskipTests -Dspotless.check.skip=true -pl switchboard-cli,switchboard-bench -am package >&2
fi
JAVA_HOME=$(bin/find-jdk)
for provider in ${BENCH_TLS_PROVIDERS:-auto jdk}; do
  echo "### tls.provider=$provider"
  echo
  "$JAVA_HOME/bin/java" -Xmx1g --enable-native-access=ALL-UNNAMED \
    --sun-misc-unsafe-memory-access=allow ${BENCH_JAVA_OPTS:-} \
    -cp "switchboard-bench/target/switchboard-bench.jar:switchboard-bench/target/lib/*" \
    io.switchboard.bench.compare.TlsBench "$root" "$work" "$work/cert.pem" "$work/key.pem" \
    "$seconds" "$rounds" "$provider"
  echo
done
