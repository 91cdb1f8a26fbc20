#!/usr/bin/env bash
# End-to-end comparisons with the peers, each printed as a ratio measured in
# this same run (absolute times drift on shared machines), of the median of
# three runs on each side. Installs what it
# needs: postfix (smtp-sink, smtp-source), nginx, and rss2email in a throwaway venv.
#
#   bash benches/compare.sh            # every comparison
#   MILLION=0 bash benches/compare.sh  # skip the 1,000,000-subscriber send
#   QUICK=1 bash benches/compare.sh    # tiny sizes, one run, debug build: what CI runs
#                                      # (tests/benches.rs) so the script cannot rot
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d /tmp/bulletin-bench.XXXXXX)
# The servers this script starts, stopped by PID at exit (never by name).
STARTED=()
trap 'for pid in "${STARTED[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT
export BULLETIN_UNSUBSCRIBE_KEY=benchmark-signing-key-2026

say() { printf '\n== %s\n' "$*"; }
seconds() { python3 -c "import sys; print(f'{float(sys.argv[1]):.3f}')" "$1"; }
ratio() { python3 -c "import sys; a, b = map(float, sys.argv[1:]); print(f'{a / b:.2f}')" "$1" "$2"; }
# Runs a command; sets ELAPSED (seconds) and PEAK (KB of peak RSS).
# The clock is read to the nanosecond: time's own %e has two decimals, too coarse for 20 ms.
measure() {
  local start
  start=$(date +%s%N)
  /usr/bin/time -f '%M' -o "$WORK/time" "$@" > "$WORK/last.out" 2> "$WORK/last.err" || { cat "$WORK/last.err"; return 1; }
  ELAPSED=$(python3 -c "print(($(date +%s%N) - $start) / 1e9)")
  read -r PEAK < "$WORK/time"
}
# Runs `reset` then `measure` three times (the machine's load comes and goes); sets ELAPSED to
# the median time and PEAK to the highest peak.
RUNS=3
# Quick mode: every step, at sizes that take seconds; no figure means anything.
if [ -n "${QUICK:-}" ]; then
  RUNS=1 FEEDS=5 ITEMS=10 SUBSCRIBERS=300 SIZES="100 1000" PROFILE=debug BUILD=()
else
  FEEDS=100 ITEMS=100 SUBSCRIBERS=20000 SIZES="10000 1000000" PROFILE=release BUILD=(--release)
fi
ITEMS_TOTAL=$((FEEDS * ITEMS))
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
measure_median() { # reset function, command...
  local reset=$1 times=() peak=0
  shift
  for _ in $(seq $RUNS); do
    "$reset"
    measure "$@"
    times+=("$ELAPSED")
    if [ "$PEAK" -gt "$peak" ]; then peak=$PEAK; fi
  done
  ELAPSED=$(median "${times[@]}")
  PEAK=$peak
}
nothing() { :; }

if [ ! -x /usr/sbin/smtp-sink ] || [ ! -x /usr/sbin/smtp-source ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi
postfix stop >/dev/null 2>&1 || true
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }

say "building ($PROFILE) and generating the corpus: $FEEDS feeds × $ITEMS items, $SUBSCRIBERS subscribers"
cargo build "${BUILD[@]}" --locked --quiet --example corpus
cargo build "${BUILD[@]}" --locked --quiet
B=$ROOT/target/$PROFILE/bulletin
CORPUS=$ROOT/target/$PROFILE/examples/corpus
"$CORPUS" "$WORK/corpus" "$FEEDS" "$ITEMS" "$SUBSCRIBERS" > /dev/null

# A config of the five newsletters reading the generated corpus.
# The bundled newsletters wait for an editor's approval: here they go out when built.
# A DKIM key file (rsa or ed25519) signs the messages when given; a second port adds a
# second relay of the same weight ([[mail.relays]]).
write_config() { # folder, feed prefix (a URL or a folder), corpus folder, smtp port, concurrency[, dkim algorithm:key file[, second port]]
  python3 - "$ROOT/config.toml" "$@" <<'PY'
import sys
bundled, folder, prefix, corpus, port, concurrency = sys.argv[1:7]
dkim = sys.argv[7] if len(sys.argv) > 7 else ""
second = sys.argv[8] if len(sys.argv) > 8 else ""
text = open(bundled).read()
text = text[:text.index("# ---------------------------------------------------------------- sources")]
assert 'approval = "required"' in text
text = text.replace('approval = "required"', 'approval = "auto"')
text = text.replace('[fetch]\n', '[fetch]\nper_host = 8\n', 1).replace('concurrency = 4\n', 'concurrency = 8\n', 1)
feeds = sorted(__import__('os').listdir(corpus + '/feeds'))
for name in feeds:
    text += f'\n[[source]]\nname = "{name}"\nfeed = "{prefix}/{name}"\n'
text += f'''
[[source]]
name = "Events"
local = "{corpus}/local/events"
kind = "event"

[mail]
from = "EU-Japan Centre <newsletters@eu-japan.eu>"
unsubscribe_url = "https://newsletters.eu-japan.eu/unsubscribe"
unsubscribe_mailto = "unsubscribe@eu-japan.eu"
signing_key_env = "BULLETIN_UNSUBSCRIBE_KEY"
transport = "smtp"

'''
for relay in [port] + ([second] if second else []):
    text += f'''
{"[[mail.relays]]" if second else "[mail.smtp]"}
host = "127.0.0.1"
port = {relay}
security = "none"
concurrency = {concurrency}
max_attempts = 2
retry_delay_ms = 100
'''
if dkim:
    algorithm, key = dkim.split(":", 1)
    text += f'\n[mail.dkim]\nselector = "bench"\nkey_path = "{key}"\nalgorithm = "{algorithm}"\n'
open(folder + '/config.toml', 'w').write(text)
PY
}

###########################################################################
say "1. ingest → classify → render, $ITEMS_TOTAL items from local feeds: bulletin vs rss2email 3.14"
python3 -m venv "$WORK/venv" && "$WORK/venv/bin/pip" install --quiet rss2email==3.14
/usr/sbin/smtp-sink -u nobody -c 127.0.0.1:2699 1000 > /dev/null 2>&1 &
STARTED+=($!)
sleep 0.5
mkdir -p "$WORK/r2e"
{
  printf '[DEFAULT]\nto = reader@example.eu\nfrom = r2e@example.eu\nemail-protocol = smtp\nsmtp-server = 127.0.0.1:2699\ndigest = True\n'
  for i in $(seq -f '%03g' 0 $((FEEDS - 1))); do printf '[feed.f%s]\nurl = file://%s/corpus/feeds/feed-%s.xml\n' "$i" "$WORK" "$i"; done
} > "$WORK/r2e/r2e.cfg"
fresh_r2e() { rm -f "$WORK/r2e/r2e.json"; }
measure_median fresh_r2e "$WORK/venv/bin/r2e" -c "$WORK/r2e/r2e.cfg" -d "$WORK/r2e/r2e.json" run
R2E_TIME=$ELAPSED R2E_PEAK=$PEAK
mkdir -p "$WORK/b1"
write_config "$WORK/b1" "$WORK/corpus/feeds" "$WORK/corpus" 2699 4
fresh_store() { rm -rf "$WORK/b1/bulletin.sqlite"* "$WORK/b1/out"; }
measure_median fresh_store "$B" run --config "$WORK/b1/config.toml" --date 2026-11-30
B_TIME=$ELAPSED B_PEAK=$PEAK
echo "rss2email: $(seconds "$R2E_TIME") s, $(ratio "$ITEMS_TOTAL" "$R2E_TIME") items/s, peak $((R2E_PEAK / 1024)) MB"
echo "bulletin:  $(seconds "$B_TIME") s, $(ratio "$ITEMS_TOTAL" "$B_TIME") items/s, peak $((B_PEAK / 1024)) MB"
echo "RATIO ingest items/s, bulletin ÷ rss2email: $(ratio "$R2E_TIME" "$B_TIME")×  (goal ≥ 100×); peak memory $(ratio "$B_PEAK" "$R2E_PEAK")× of rss2email's"

###########################################################################
say "2. one edition to $SUBSCRIBERS subscribers into smtp-sink: bulletin vs smtp-source, 8 connections; unsigned, RSA-2048, Ed25519"
"$B" subscribers import "$WORK/corpus/subscribers.csv" --config "$WORK/b1/config.toml" > /dev/null
write_config "$WORK/b1" "$WORK/corpus/feeds" "$WORK/corpus" 2699 8
# The size of one of our messages, for smtp-source's -l: a test copy through the file transport.
mkdir -p "$WORK/eml" && sed 's/transport = "smtp"/transport = "file"/' "$WORK/b1/config.toml" > "$WORK/eml/config.toml"
sed -i "s#^path = \"bulletin.sqlite\"#path = \"$WORK/b1/bulletin.sqlite\"#" "$WORK/eml/config.toml"
"$B" send --newsletter eu-japan-news --config "$WORK/eml/config.toml" --to size@example.eu > /dev/null
SIZE=$(stat -c %s "$(find "$WORK/eml/out/mail" -name '*.eml' | head -1)")
measure_median nothing /usr/sbin/smtp-source -d -s 8 -m "$SUBSCRIBERS" -l "$SIZE" -f a@example.org -t b@example.org 127.0.0.1:2699
SRC_TIME=$ELAPSED
SRC_RATE=$(ratio "$SUBSCRIBERS" "$SRC_TIME")
# Each send starts from the store as it was before any: the edition published, nothing sent.
cp "$WORK/b1/bulletin.sqlite" "$WORK/unsent.sqlite"
unsent() { cp "$WORK/unsent.sqlite" "$WORK/b1/bulletin.sqlite"; }
echo "smtp-source: $SUBSCRIBERS messages of $SIZE bytes in $(seconds "$SRC_TIME") s = $SRC_RATE msg/s"
# Every message must have gone: a send that sent fewer is a broken bench, not a fast one.
sent_all() {
  SENT=$(grep -o 'sent [0-9]*' "$WORK/last.out" | head -1 | cut -d' ' -f2)
  [ "$SENT" = "$SUBSCRIBERS" ] || { echo "sent $SENT of $SUBSCRIBERS:"; cat "$WORK/last.out" "$WORK/last.err"; exit 1; }
}
openssl genrsa -traditional -out "$WORK/b1/rsa.key" 2048 2> /dev/null
openssl genpkey -algorithm ed25519 -out "$WORK/b1/ed25519.key"
chmod 600 "$WORK/b1/rsa.key" "$WORK/b1/ed25519.key"
for signing in none rsa ed25519; do
  case $signing in
    none) write_config "$WORK/b1" "$WORK/corpus/feeds" "$WORK/corpus" 2699 8 ;;
    *) write_config "$WORK/b1" "$WORK/corpus/feeds" "$WORK/corpus" 2699 8 "$signing:$WORK/b1/$signing.key" ;;
  esac
  measure_median unsent "$B" send --newsletter eu-japan-news --config "$WORK/b1/config.toml"
  sent_all
  RATE=$(ratio "$SENT" "$ELAPSED")
  case $signing in none) what="unsigned"; goal="≥ 0.90" ;; rsa) what="RSA-2048"; goal="≥ 0.50" ;; ed25519) what="Ed25519"; goal="≥ 0.90" ;; esac
  echo "bulletin, $what: $SENT messages (delivery log on) in $(seconds "$ELAPSED") s = $RATE msg/s"
  echo "RATIO send msg/s, $what, bulletin ÷ smtp-source: $(ratio "$RATE" "$SRC_RATE")  (goal $goal)"
  [ "$signing" = none ] && PLAIN_RATE=$RATE
done
write_config "$WORK/b1" "$WORK/corpus/feeds" "$WORK/corpus" 2699 8

###########################################################################
say "2b. relay failover: the same send over two relays of equal weight, one killed (by its PID) a moment in"
# Two counting smtp-sinks; the killed one is started again for each run.
/usr/sbin/smtp-sink -u nobody -c 127.0.0.1:2697 1000 > /dev/null 2>&1 &
STARTED+=($!)
mkdir -p "$WORK/b5"
write_config "$WORK/b5" "$WORK/corpus/feeds" "$WORK/corpus" 2696 4 "" 2697
sed -i "s#^path = \"bulletin.sqlite\"#path = \"$WORK/b1/bulletin.sqlite\"#" "$WORK/b5/config.toml"
failover() {
  unsent
  /usr/sbin/smtp-sink -u nobody -c 127.0.0.1:2696 1000 > /dev/null 2>&1 &
  local victim=$!
  sleep 0.3
  ( sleep "${KILL_AFTER:-0.2}"; kill "$victim" 2>/dev/null || true ) &
  local killer=$!
  measure "$B" send --newsletter eu-japan-news --config "$WORK/b5/config.toml"
  wait "$killer"
  kill "$victim" 2>/dev/null || true
  wait "$victim" 2>/dev/null || true
  sent_all
}
times=()
for _ in $(seq $RUNS); do failover; times+=("$ELAPSED"); done
FAILOVER_TIME=$(median "${times[@]}")
grep '  relay ' "$WORK/last.out"
echo "bulletin, two relays, one killed: $SENT messages in $(seconds "$FAILOVER_TIME") s = $(ratio "$SENT" "$FAILOVER_TIME") msg/s"
echo "RATIO failover send msg/s ÷ one healthy relay's: $(ratio "$(ratio "$SENT" "$FAILOVER_TIME")" "$PLAIN_RATE")"

###########################################################################
if [ "${MILLION:-1}" != 0 ]; then
  say "3. memory of an import and a send: 10,000 and 1,000,000 subscribers (into smtp-sink)"
  set -- $SIZES
  SMALL=$1 LARGE=$2
  for n in $SIZES; do
    mkdir -p "$WORK/m$n"
    "$CORPUS" "$WORK/m$n/corpus" 1 20 "$n" > /dev/null
    write_config "$WORK/m$n" "$WORK/m$n/corpus/feeds" "$WORK/m$n/corpus" 2699 8
    "$B" run --config "$WORK/m$n/config.toml" --date 2026-11-30 > /dev/null 2>&1 || true
    # The import streams the file: its memory is that of one batch of rows, whatever the list.
    measure "$B" subscribers import "$WORK/m$n/corpus/subscribers.csv" --config "$WORK/m$n/config.toml"
    echo "$n subscribers imported in $(seconds "$ELAPSED") s, peak RSS $((PEAK / 1024)) MB  (goal at 1,000,000: ≤ 64 MB; was 29 s, 479 MB)"
    measure "$B" send --newsletter eu-japan-news --config "$WORK/m$n/config.toml"
    echo "$n subscribers: $(grep -o 'sent [0-9]*' "$WORK/last.out" | head -1) in $(seconds "$ELAPSED") s, peak RSS $((PEAK / 1024)) MB"
    eval "PEAK_$n=$PEAK"
  done
  eval "PEAK_SMALL=\$PEAK_$SMALL PEAK_LARGE=\$PEAK_$LARGE"
  echo "RATIO peak RSS at $LARGE ÷ at $SMALL: $(ratio "$PEAK_LARGE" "$PEAK_SMALL")  (goal ≤ 1.5; and ≤ 50 MB: $((PEAK_LARGE / 1024)) MB)"
fi

###########################################################################
say "4. a second fetch of $FEEDS unchanged HTTP feeds served from 127.0.0.1"
# nginx, as feeds are served on the web: ETag and Last-Modified, 304 to a conditional GET.
# (Python's http.server was used before: at ~0.4 ms of its own per request it, not bulletin,
# set the pace of the second fetch.) In the foreground, a job of this shell: the exit trap stops it.
if [ ! -x /usr/sbin/nginx ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
  # Debian starts the system nginx on install: stop that one, by its own PID file.
  if [ -s /run/nginx.pid ]; then kill "$(cat /run/nginx.pid)" 2>/dev/null || true; fi
fi
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<NGINX
daemon off;
user root;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:2698 backlog=512;
    root $WORK/corpus/feeds;
    location / { default_type application/rss+xml; }
  }
}
NGINX
/usr/sbin/nginx -c "$WORK/nginx/nginx.conf" > /dev/null 2>&1 &
STARTED+=($!)
sleep 1
mkdir -p "$WORK/b4"
write_config "$WORK/b4" "http://127.0.0.1:2698" "$WORK/corpus" 2699 4
first=() second=()
for _ in $(seq $RUNS); do
  rm -f "$WORK/b4/bulletin.sqlite"*
  measure "$B" fetch --config "$WORK/b4/config.toml"
  first+=("$ELAPSED")
  measure "$B" fetch --config "$WORK/b4/config.toml"
  second+=("$ELAPSED")
done
FIRST=$(median "${first[@]}")
SECOND=$(median "${second[@]}")
grep 'sources not modified' "$WORK/last.out"
echo "first fetch $(seconds "$FIRST") s, second $(seconds "$SECOND") s"
echo "RATIO second ÷ first fetch: $(ratio "$SECOND" "$FIRST")  (goal ≤ 0.10)"
