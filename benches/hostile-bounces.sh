#!/usr/bin/env bash
# The bounce reader on hostile mails (docs/performance.md): each shape at
# 0.4 and 1.6 MB, read by `bulletin bounces --dry-run` (release build),
# the two sizes in turn five times and the least time of each kept (the
# machine's load comes and goes); prints the times and their ratio.
#
#   bash benches/hostile-bounces.sh
#   QUICK=1 bash benches/hostile-bounces.sh   # 4 and 16 KB, once, debug build: what CI runs
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
if [ -n "${QUICK:-}" ]; then
  SMALL=4000 LARGE=16000 TRIES=1 PROFILE=debug BUILD=()
else
  SMALL=400000 LARGE=1600000 TRIES=5 PROFILE=release BUILD=(--release)
fi
WORK=$(mktemp -d /tmp/bulletin-hostile.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cargo build "${BUILD[@]}" --locked --quiet
BIN=$ROOT/target/$PROFILE/bulletin
cp config.toml "$WORK/" && cp -r feeds "$WORK/"
export BULLETIN_UNSUBSCRIBE_KEY=benchmark-signing-key-2026-hostile-bounces
python3 - "$WORK" "$SMALL" "$LARGE" <<'PY'
import sys
work = sys.argv[1]
sizes = [int(size) for size in sys.argv[2:]]
def mail(body, ctype="text/plain", header=""):
    return (f"From: MAILER-DAEMON@mx.example\r\nSubject: failure notice\r\n"
            f"Content-Type: {ctype}\r\n{header}\r\n{body}").encode()
def rep(unit, n):
    return unit * (n // len(unit))
report = "multipart/report; report-type=delivery-status; boundary=b"
shapes = {
    "x-550": lambda n: mail(rep("x 550 ", n)),
    "status-codes": lambda n: mail(rep("x 5.1.1 ", n)),
    "distinct-addresses": lambda n: mail("".join(f"u{i}@h{i}.example " for i in range(n // 18))),
    "at-flood": lambda n: mail(rep("@", n)),
    "huge-header": lambda n: mail("550 5.1.1\r\n", header="X-Failed-Recipients: " + rep("a@b.cd, ", n) + "\r\n"),
    "many-parts": lambda n: mail(rep("--b\r\nContent-Type: text/plain\r\n\r\nx 550 <a@b.cd>\r\n", n), "multipart/mixed; boundary=b"),
    "final-recipient-blocks": lambda n: mail("--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n"
                                             + rep("Final-Recipient: rfc822; a@b.cd\r\nAction: delayed\r\n\r\n", n) + "--b--\r\n", report),
}
for name, make in shapes.items():
    for size in sizes:
        open(f"{work}/{name}-{size}.eml", "wb").write(make(size))
PY
cd "$WORK"
least() { python3 -c "import sys; print(min(map(float, sys.argv[1:])))" "$@"; }
printf '%-24s %10s %10s %7s\n' shape "0.4 MB s" "1.6 MB s" ratio
for shape in x-550 status-codes distinct-addresses at-flood huge-header many-parts final-recipient-blocks; do
  small=() large=()
  for _ in $(seq "$TRIES"); do
    for size in "$SMALL" "$LARGE"; do
      start=$(date +%s%N)
      "$BIN" bounces --dry-run "$shape-$size.eml" > /dev/null
      took=$(python3 -c "print(($(date +%s%N) - $start) / 1e9)")
      if [ "$size" = "$SMALL" ]; then small+=("$took"); else large+=("$took"); fi
    done
  done
  s=$(least "${small[@]}") l=$(least "${large[@]}")
  printf '%-24s %10.3f %10.3f %7.2f\n' "$shape" "$s" "$l" "$(python3 -c "print($l / $s)")"
done
