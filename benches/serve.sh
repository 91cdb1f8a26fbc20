#!/usr/bin/env bash
# The unsubscribe endpoint under load: `bulletin serve` (release build) with
# 10,000 subscribers, 1,000 idle keep-alive connections held open, and
# CLIENTS connections sending RFC 8058 one-click POSTs with valid tokens
# back to back for DURATION seconds. Prints POSTs per second, latency percentiles
# and the server's peak RSS (examples/load.rs measures). The idle connections
# come from 127.0.0.2, 127.0.0.3… (32 an address), as idle clients come from
# many addresses: serve holds at most 64 from one (--max-connections-per-client).
#
# Then the audit's greedy client, against a fresh serve: GREEDY keep-alive
# connections from 127.0.0.1, each asking for /favicon.ico every 3 s, for
# GREEDY_SECONDS, while another client (127.0.0.2) asks for /subscribe every
# 100 ms: how long it waits, and the server's peak RSS.
#
#   bash benches/serve.sh                 # 1,000 idle, 32 clients, 10 s; greedy 4,200 for 20 s
#   IDLE=2000 CLIENTS=64 DURATION=20 GREEDY=8000 bash benches/serve.sh
#   QUICK=1 bash benches/serve.sh        # tiny, debug build: what CI runs (tests/benches.rs)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${QUICK:-}" ]; then
  IDLE=20 CLIENTS=2 DURATION=1 GREEDY=20 GREEDY_SECONDS=1 SUBSCRIBERS=100 PROFILE=debug BUILD=()
else
  SUBSCRIBERS=10000 PROFILE=release BUILD=(--release)
fi
IDLE=${IDLE:-1000}
CLIENTS=${CLIENTS:-32}
DURATION=${DURATION:-10}
GREEDY=${GREEDY:-4200}
GREEDY_SECONDS=${GREEDY_SECONDS:-20}
export BULLETIN_UNSUBSCRIBE_KEY=benchmark-signing-key-2026
cargo build "${BUILD[@]}" --locked --quiet --bin bulletin --example load
BIN=$PWD/target/$PROFILE/bulletin
LOAD=$PWD/target/$PROFILE/examples/load
WORK=$(mktemp -d /tmp/bulletin-serve-bench.XXXXXX)
SERVER=
cleanup() {
  if [ -n "$SERVER" ]; then kill -TERM "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
cp config.toml "$WORK/"
cp -r feeds "$WORK/"
"$LOAD" csv "$SUBSCRIBERS" > "$WORK/subscribers.csv"
"$BIN" --config "$WORK/config.toml" subscribers import "$WORK/subscribers.csv"
ulimit -n "$(ulimit -Hn)"
# Starts serve; sets SERVER (its PID) and ADDR, URLPATH (where it listens).
start_serve() {
  "$BIN" --config "$WORK/config.toml" serve --listen 127.0.0.1:0 > "$WORK/serve.out" 2> "$WORK/serve.err" &
  SERVER=$!
  for _ in $(seq 100); do [ -s "$WORK/serve.out" ] && break; sleep 0.05; done
  URL=$(sed -n 's/^listening on http:\/\///p' "$WORK/serve.out")
  ADDR=${URL%%/*}
  URLPATH=/${URL#*/}
}
stop_serve() {
  kill -TERM "$SERVER"
  wait "$SERVER" && echo "serve stopped on SIGTERM, exit 0"
  SERVER=
}
start_serve
"$LOAD" run "$ADDR" "$URLPATH" "$SERVER" "$IDLE" "$CLIENTS" "$DURATION"
stop_serve
rm -f "$WORK/serve.out"
start_serve
"$LOAD" greedy "$ADDR" "$SERVER" "$GREEDY" "$GREEDY_SECONDS"
stop_serve
