#!/usr/bin/env bash
# The unsubscribe endpoint under load: `bulletin serve` (release build) with
# 10,000 subscribers, 1,000 idle keep-alive connections held open, and
# CLIENTS connections sending RFC 8058 one-click POSTs with valid tokens
# back to back for DURATION seconds. Prints POSTs per second, latency percentiles
# and the server's peak RSS (examples/load.rs measures).
#
#   bash benches/serve.sh                 # 1,000 idle, 32 clients, 10 s
#   IDLE=2000 CLIENTS=64 DURATION=20 bash benches/serve.sh
set -euo pipefail
cd "$(dirname "$0")/.."
IDLE=${IDLE:-1000}
CLIENTS=${CLIENTS:-32}
DURATION=${DURATION:-10}
export BULLETIN_UNSUBSCRIBE_KEY=benchmark-signing-key-2026
cargo build --release --quiet --bin bulletin --example load
BIN=$PWD/target/release/bulletin
LOAD=$PWD/target/release/examples/load
WORK=$(mktemp -d /tmp/bulletin-serve-bench.XXXXXX)
SERVER=
cleanup() {
  if [ -n "$SERVER" ]; then kill -TERM "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
cp config.toml "$WORK/"
cp -r feeds "$WORK/"
"$LOAD" csv 10000 > "$WORK/subscribers.csv"
"$BIN" --config "$WORK/config.toml" subscribers import "$WORK/subscribers.csv"
ulimit -n "$(ulimit -Hn)"
"$BIN" --config "$WORK/config.toml" serve --listen 127.0.0.1:0 > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVER=$!
for _ in $(seq 100); do [ -s "$WORK/serve.out" ] && break; sleep 0.05; done
URL=$(sed -n 's/^listening on http:\/\///p' "$WORK/serve.out")
ADDR=${URL%%/*}
URLPATH=/${URL#*/}
"$LOAD" run "$ADDR" "$URLPATH" "$SERVER" "$IDLE" "$CLIENTS" "$DURATION"
kill -TERM "$SERVER"
wait "$SERVER" && echo "serve stopped on SIGTERM, exit 0"
SERVER=
