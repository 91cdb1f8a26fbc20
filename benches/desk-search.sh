#!/usr/bin/env bash
# The admins' subscriber search on the desk (`/desk/subscribers?q=…`), timed:
# `bulletin serve` (release build) over SUBSCRIBERS subscribers, an admin
# logged in with curl, each search asked for RUNS times; prints the median
# and the slowest answer of each, in milliseconds. The search runs on
# serve's store thread, where the public unsubscribes wait for it.
#
#   bash benches/desk-search.sh                 # 200,000 subscribers, 5 runs
#   SUBSCRIBERS=10000 RUNS=3 bash benches/desk-search.sh
#   BIN=/tmp/bulletin-before bash benches/desk-search.sh   # another build, as it is
#   QUICK=1 bash benches/desk-search.sh        # 100, once, debug build: what CI runs (tests/benches.rs)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${QUICK:-}" ]; then
  SUBSCRIBERS=100 RUNS=1 PROFILE=debug BUILD=()
else
  PROFILE=release BUILD=(--release)
fi
SUBSCRIBERS=${SUBSCRIBERS:-200000}
RUNS=${RUNS:-5}
export BULLETIN_UNSUBSCRIBE_KEY=benchmark-signing-key-2026
if [ -z "${BIN:-}" ]; then
  cargo build "${BUILD[@]}" --locked --quiet --bin bulletin
  BIN=$PWD/target/$PROFILE/bulletin
fi
WORK=$(mktemp -d /tmp/bulletin-desk-search.XXXXXX)
SERVER=
cleanup() {
  if [ -n "$SERVER" ]; then kill -TERM "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
cp config.toml "$WORK/"
cp -r feeds "$WORK/"
python3 - "$SUBSCRIBERS" > "$WORK/subscribers.csv" <<'EOF'
import sys
print("email,name,organisation,organisation_type,country,newsletters,consent_date")
for n in range(int(sys.argv[1])):
    name = "Élodie Martin" if n % 1000 == 7 else f"Reader Number{n}"
    print(f"reader{n}@example{n % 97}.eu,{name},Org {n},company,BE,eu-japan-news,2025-01-10")
EOF
"$BIN" --config "$WORK/config.toml" subscribers import "$WORK/subscribers.csv" > /dev/null
echo "the admin's own long password" |
  "$BIN" --config "$WORK/config.toml" editors add admin@example.org --name Admin --role admin --password-stdin > /dev/null
"$BIN" --config "$WORK/config.toml" serve --listen 127.0.0.1:0 > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVER=$!
for _ in $(seq 100); do [ -s "$WORK/serve.out" ] && break; sleep 0.05; done
URL=$(sed -n 's/^listening on \(http:\/\/[^/]*\).*/\1/p' "$WORK/serve.out")
JAR=$WORK/cookies
TOKEN=$(curl -s -c "$JAR" "$URL/desk/login" | sed -n 's/.*name="token" value="\([^"]*\)".*/\1/p' | head -1)
curl -s -b "$JAR" -c "$JAR" -o /dev/null --data-urlencode "token=$TOKEN" \
  --data-urlencode email=admin@example.org --data-urlencode "password=the admin's own long password" "$URL/desk/login"
echo "$SUBSCRIBERS subscribers; each search $RUNS times (median, slowest, in ms):"
for words in reader number12345 example42 nobody-at-all %C3%89LODIE; do
  times=$(for _ in $(seq "$RUNS"); do
    curl -s -b "$JAR" -o "$WORK/page" -w '%{time_total}\n' "$URL/desk/subscribers?q=$words"
  done | sort -n)
  grep -q '<h1>Subscribers</h1>' "$WORK/page" || { echo "q=$words: not the search page" >&2; exit 1; }
  median=$(echo "$times" | sed -n "$(((RUNS + 1) / 2))p")
  slowest=$(echo "$times" | tail -1)
  awk -v q="$words" -v m="$median" -v s="$slowest" -v said="$(grep -o '[0-9]* match\|No subscriber' "$WORK/page" | head -1)" \
    'BEGIN { printf "  q=%-14s %6.0f %6.0f   %s\n", q, m * 1000, s * 1000, said }'
done
